import math

import pytest
import torch

from takdlib.report import (best_not_largest, claim, claims_table, format_claims, inherited_mistake_rate, mean_std,
                            verdict, write_json)


def test_verdict_follows_the_stated_rule():
    assert verdict([70.0, 70.2, 69.8], [68.0, 68.1, 67.9]) == "reproduced"
    assert verdict([68.0, 68.1, 67.9], [70.0, 70.2, 69.8]) == "not reproduced"
    assert verdict([70.0, 71.0, 69.0], [69.8, 70.9, 69.1]) == "inconclusive"
    assert verdict([70.0], [60.0]) == "inconclusive"  # one seed decides nothing


def test_mean_std_is_sample_sd_and_ignores_missing():
    m, s, n = mean_std([1.0, 2.0, 3.0, None, float("nan")])
    assert (m, n) == (2.0, 3) and s == pytest.approx(1.0)
    assert math.isnan(mean_std([5.0])[1])


def test_best_not_largest():
    peaked = {"plain4": [60, 60.1, 59.9], "plain6": [62, 62.1, 61.9], "plain10": [58, 58.2, 57.8]}
    assert best_not_largest(peaked, "plain10") == "reproduced"
    rising = {"plain4": [58, 58.1, 57.9], "plain10": [62, 62.1, 61.9]}
    assert best_not_largest(rising, "plain10") == "not reproduced"


def test_inherited_mistakes():
    y = torch.tensor([0, 1, 2, 3])
    ta = torch.tensor([0, 2, 0, 3])  # wrong on items 1 and 2
    student = torch.tensor([0, 2, 1, 1])  # repeats the TA's mistake on item 1 only
    assert inherited_mistake_rate(ta, student, y) == pytest.approx(50.0)
    assert math.isnan(inherited_mistake_rate(y, student, y))


def test_claims_table_reads_every_results_file(tmp_path):
    write_json({"claims": [claim("a beats b", "yes", "1 vs 0", "reproduced", "cpu")]}, tmp_path / "01_x.json")
    write_json({"claims": [claim("c", "yes", "?", "reproduced", "smoke")]}, tmp_path / "02_y.json")
    rows = claims_table(tmp_path)
    assert [r["notebook"] for r in rows] == ["01_x", "02_y"]
    assert rows[1]["verdict"] == "not judged (smoke)"
    assert "a beats b" in format_claims(rows)
