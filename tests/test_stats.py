import math

import numpy as np
import pytest

from takdlib.stats import by_seed, compare, mean_std, seeds_needed, t_critical


def test_paired_rule_decides_both_ways_and_not_within_noise():
    a, b = {0: 70.0, 1: 70.2, 2: 69.8}, {0: 68.0, 1: 68.1, 2: 67.9}
    assert compare(a, b).decided() == 1
    assert compare(b, a).decided() == -1
    noisy = compare({0: 70.0, 1: 71.0, 2: 69.0}, {0: 69.8, 1: 70.9, 2: 69.1})
    assert noisy.decided() == 0 and noisy.smallest_callable() > abs(noisy.mean_diff)
    assert compare({0: 70.0}, {0: 60.0}).decided() == 0  # one seed decides nothing


def test_pairing_removes_the_shared_seed_effect():
    # seed effects of ±3 points shared by both methods, a constant +0.5 gain: unpaired this is noise, paired it is clear
    seed_effect = {0: -3.0, 1: 0.0, 2: 3.0, 3: 1.5}
    a = {s: 60 + e + 0.5 + 0.05 * (s % 2) for s, e in seed_effect.items()}
    b = {s: 60 + e for s, e in seed_effect.items()}
    assert compare(a, b).decided() == 1


def test_seeds_are_matched_by_key_not_by_position():
    c = compare({2: 1.0, 0: 3.0, 1: 2.0, 7: 100.0}, {0: 2.0, 1: 1.0, 2: 0.0})
    assert c.diffs == (1.0, 1.0, 1.0) and c.n == 3


def test_the_rule_calls_about_five_percent_of_null_differences():
    rng = np.random.default_rng(0)
    for n in (3, 5):
        calls = sum(compare(dict(enumerate(rng.normal(0, 1, n))), dict(enumerate(rng.normal(0, 1, n)))).decided()
                    != 0 for _ in range(4000))
        assert 0.035 < calls / 4000 < 0.065, (n, calls)
    # and a real effect of 2 sd with 5 seeds is found nearly always
    found = sum(compare(dict(enumerate(rng.normal(2, 1, 5))), dict(enumerate(rng.normal(0, 1, 5)))).decided()
                == 1 for _ in range(500))
    assert found / 500 > 0.6


def test_t_critical_and_seeds_needed():
    assert t_critical(3) == pytest.approx(4.303, abs=1e-3) and t_critical(5) == pytest.approx(2.776, abs=1e-3)
    assert math.isinf(t_critical(1))
    n = seeds_needed(0.5, 0.5)
    assert t_critical(n) * 0.5 / math.sqrt(n) < 0.5 <= t_critical(n - 1) * 0.5 / math.sqrt(n - 1)
    assert seeds_needed(0.0, 1.0) is None


def test_margin_claims_need_the_difference_beyond_the_margin():
    teacher, student = {0: 70.0, 1: 70.5, 2: 69.5}, {0: 58.0, 1: 58.2, 2: 57.9}
    assert compare(teacher, student, margin=10).decided() == 1
    assert compare(teacher, student, margin=13).decided() == -1


def test_the_level_moves_the_critical_value_and_the_p_value_agrees_with_it():
    # four seeds, differences 1 + (-0.66, -0.22, 0.22, 0.66): t = 3.5, decided at 5 % but not at 2.5 %
    c = compare({s: 1 + d for s, d in enumerate((-0.66, -0.22, 0.22, 0.66))}, {s: 0.0 for s in range(4)})
    assert c.p == pytest.approx(2 * (1 - __import__("scipy").stats.t.cdf(c.t, 3)))
    assert c.decided(0.05) == 1 and c.decided(0.025) == 0
    for alpha in (0.05, 0.025, 0.01):
        assert c.decided(alpha) == (1 if c.p < alpha else 0)
        assert c.smallest_callable(alpha) == pytest.approx(t_critical(4, alpha) * c.sd_diff / 2)


def test_mean_std_is_sample_sd_and_ignores_missing():
    m, s, n = mean_std([1.0, 2.0, 3.0, None, float("nan")])
    assert (m, n) == (2.0, 3) and s == pytest.approx(1.0)
    assert math.isnan(mean_std([5.0])[1])


def test_by_seed():
    import pandas as pd

    frame = pd.DataFrame({"seed": [1, 0], "acc": [61.0, 60.0]})
    assert by_seed(frame) == {1: 61.0, 0: 60.0}
    with pytest.raises(ValueError, match="one row per seed"):
        by_seed(pd.DataFrame({"seed": [0, 0], "acc": [1.0, 2.0]}))
