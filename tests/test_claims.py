"""Each verdict rule decides a built-in effect, calls the opposite effect its opposite, and stays undecided on
a null: synthetic tables of 4 seeds, a shared seed effect and small, fixed per-seed noise."""
import pytest

from takdlib.claims import (KINDS, counts, counts_text, every, midpoint, not_run, paired, ranking, rise_then_fall,
                            search_agrees, steps, verdict_word)
from takdlib.paths import dp_search, exhaustive_search

SEEDS = (0, 1, 2, 3)
SEED_EFFECT = (-2.0, 0.5, 1.5, 0.0)  # shared by every model of a seed: pairing removes it
NOISE = ((0.1, -0.1, 0.05, -0.05), (-0.05, 0.1, -0.1, 0.05), (0.05, 0.05, -0.1, 0.0), (0.0, -0.05, 0.1, -0.05))


def values(mean: float, noise: int = 0, spread: float = 1.0) -> dict[int, float]:
    """{seed: mean + seed effect + noise}; `spread` scales the noise (a null uses a large one)."""
    return {s: mean + SEED_EFFECT[s] + spread * NOISE[noise % 4][s] for s in SEEDS}


def null_pair(spread: float = 10.0):
    """Two models equal in expectation whose per-seed differences straddle zero."""
    return values(60.0, 0, spread), values(60.0, 1, spread)


@pytest.mark.parametrize("kind", list(KINDS))
def test_paired_decides_reverses_and_stays_undecided_on_a_null(kind):
    holds, opposite, undecided = KINDS[kind]
    assert paired(kind, "a beats b", "", values(62, 0), values(60, 1), "a", "b", "cpu")["verdict"] == holds
    assert paired(kind, "a beats b", "", values(60, 0), values(62, 1), "a", "b", "cpu")["verdict"] == opposite
    row = paired(kind, "a beats b", "", *null_pair(), "a", "b", "cpu")
    assert row["verdict"] == undecided and "would need" in row["power"] and "lean" in row["power"]


def test_a_margin_claim_needs_the_difference_beyond_the_margin():
    teacher, student = values(72, 0), values(60, 1)
    assert paired("setup", "gap", "", teacher, student, "t", "s", "cpu", margin=10)["verdict"] == "holds"
    assert paired("setup", "gap", "", teacher, student, "t", "s", "cpu", margin=14)["verdict"] == "fails"
    assert paired("setup", "gap", "", teacher, student, "t", "s", "cpu", margin=12)["verdict"] == "unsettled"


def test_power_says_which_way_an_undecided_row_leans():
    a, b = values(60.0, 0, 10.0), values(59.9, 1, 10.0)
    assert "leans towards the claim" in paired("paper", "a > b", "", a, b, "a", "b", "cpu")["power"]
    assert "leans against it" in paired("paper", "b > a", "", b, a, "b", "a", "cpu")["power"]


def test_smoke_rows_are_not_judged_and_decided_rows_carry_no_power():
    row = paired("paper", "a beats b", "", values(62, 0), values(60, 1), "a", "b", "smoke")
    assert row["verdict"] == "not judged (smoke)"
    assert paired("paper", "a beats b", "", values(62, 0), values(60, 1), "a", "b", "cpu")["power"] == ""


def test_every_needs_all_and_is_reversed_by_any():
    up = ("up", values(62, 0), values(60, 1))
    down = ("down", values(60, 0), values(62, 1))
    null = ("null", *null_pair())
    assert every("setup", "chain", "", steps([up, up]), "cpu")["verdict"] == "holds"
    assert every("setup", "chain", "", steps([up, down]), "cpu")["verdict"] == "fails"
    row = every("setup", "chain", "", steps([up, null]), "cpu")
    assert row["verdict"] == "unsettled" and row["power"].startswith("null:")


def test_ranking_in_the_papers_order_its_reverse_and_a_tie():
    order = [("plain4", values(64, 0)), ("plain6", values(62, 1)), ("plain8", values(60, 2))]
    assert ranking("paper", "rank", "", order, "cpu")["verdict"] == "reproduced"
    assert ranking("paper", "rank", "", order[::-1], "cpu")["verdict"] == "not reproduced"
    tie = [("plain4", values(60, 0, 10)), ("plain6", values(60, 1, 10)), ("plain8", values(60, 2, 10))]
    assert ranking("paper", "rank", "", tie, "cpu")["verdict"] == "inconclusive"


def test_rise_then_fall_peaks_inside_is_reversed_by_a_monotone_curve_and_undecided_when_flat():
    peaked = [("plain4", values(58, 0)), ("plain6", values(62, 1)), ("plain8", values(61, 2)), ("plain10", values(57, 3))]
    assert rise_then_fall("paper", "peak", "", peaked, "cpu")["verdict"] == "reproduced"
    rising = [(n, values(56 + 2 * i, i)) for i, n in enumerate(["plain4", "plain6", "plain8", "plain10"])]
    assert rise_then_fall("paper", "peak", "", rising, "cpu")["verdict"] == "not reproduced"
    falling = rising[::-1]  # the smallest teacher best: no rise before the fall
    assert rise_then_fall("paper", "peak", "", falling, "cpu")["verdict"] == "not reproduced"
    flat = [(n, values(60, i, 10)) for i, n in enumerate(["plain4", "plain6", "plain8", "plain10"])]
    assert rise_then_fall("paper", "peak", "", flat, "cpu")["verdict"] == "inconclusive"
    with pytest.raises(ValueError, match="three teachers"):
        rise_then_fall("paper", "peak", "", peaked[:2], "cpu")


def test_midpoint_rule_judges_only_tas_decisively_farther_from_the_midpoint():
    teacher, student = values(80, 0), values(50, 1)  # midpoint 65
    tas = {"plain8": values(75, 2), "plain6": values(70, 3), "plain4": values(65, 0)}  # plain4 nearest
    good = {"plain8": values(52, 1), "plain6": values(53, 2), "plain4": values(55, 3)}
    assert midpoint("paper", "mid", "", teacher, student, tas, good, "cpu")["verdict"] == "reproduced"
    bad = {"plain8": values(56, 1), "plain6": values(53, 2), "plain4": values(52, 3)}
    assert midpoint("paper", "mid", "", teacher, student, tas, bad, "cpu")["verdict"] == "not reproduced"
    null = {t: values(53, i, 10) for i, t in enumerate(tas)}
    assert midpoint("paper", "mid", "", teacher, student, tas, null, "cpu")["verdict"] == "inconclusive"
    # every TA as near the midpoint as the others (within their spread): the rule cannot tell them apart
    blurred = {t: values(65, i, 40) for i, t in enumerate(tas)}
    row = midpoint("paper", "mid", "", teacher, student, blurred, bad, "cpu")
    assert row["verdict"] == "inconclusive" and "cannot tell them apart" in row["power"]


MODELS = ["plain10", "plain8", "plain6", "plain4", "plain2"]


def _picks(table: dict[tuple[str, ...], float]) -> list[dict]:
    """The DP's and exhaustive search's picks for k = 2, 3 on a table of mean accuracies, each path's
    student accuracy per seed built from its mean."""
    evaluate = table.__getitem__
    acc = lambda path: values(table[path], len(path))  # noqa: E731
    picks = []
    for k in (2, 3):
        ex = exhaustive_search(MODELS[0], MODELS[-1], MODELS[1:-1], evaluate, max_assistants=k)
        dp = dp_search(MODELS, evaluate, max_assistants=k)
        picks.append(dict(k=k, dp=dp.best_path, exhaustive=ex.best_path, dp_acc=acc(dp.best_path),
                          exhaustive_acc=acc(ex.best_path)))
    return picks


def _table(score) -> dict[tuple[str, ...], float]:
    """Every prefix of every path (TAs' own scores too, as the DP asks for them), scored by score(path)."""
    from takdlib.paths import all_paths

    prefixes = {p[:i] for p in all_paths(MODELS[0], MODELS[-1], MODELS[1:-1]) for i in range(2, len(p) + 1)}
    return {p: score(p) for p in prefixes}


def test_search_rule_holds_with_optimal_substructure_and_fails_without_it():
    # optimal substructure: a path's score is the sum of its steps' scores, so the best prefix is the best teacher
    step = {("plain10", "plain8"): 3, ("plain8", "plain6"): 3, ("plain6", "plain4"): 3, ("plain10", "plain6"): 2,
            ("plain10", "plain4"): 1, ("plain8", "plain4"): 2, ("plain4", "plain2"): 3, ("plain6", "plain2"): 2,
            ("plain8", "plain2"): 1, ("plain10", "plain2"): 0}
    additive = _table(lambda p: 50 + sum(step[a, b] for a, b in zip(p, p[1:])))
    assert search_agrees("paper", "dp", "", _picks(additive), "cpu")["verdict"] == "reproduced"
    # without it: the most accurate plain8 (the DP's pick at depth 1) is a poor teacher below it
    broken = dict(additive)
    broken[("plain10", "plain6")] = 10  # a weak TA at depth 1 ...
    for p in broken:
        if p[:2] == ("plain10", "plain6") and p[-1] == "plain2":
            broken[p] += 10  # ... whose students are the best
    picks = _picks(broken)
    assert any(tuple(p["dp"]) != tuple(p["exhaustive"]) for p in picks)
    assert search_agrees("paper", "dp", "", picks, "cpu")["verdict"] == "not reproduced"


def test_search_rule_is_undecided_when_the_dp_picks_another_path_of_the_same_accuracy():
    pick = dict(k=2, dp=("plain10", "plain8", "plain4", "plain2"), exhaustive=("plain10", "plain6", "plain4", "plain2"),
                dp_acc=values(60, 0, 10), exhaustive_acc=values(60, 1, 10))
    assert search_agrees("paper", "dp", "", [pick], "cpu")["verdict"] == "inconclusive"
    with pytest.raises(ValueError, match="k >= 2"):
        search_agrees("paper", "dp", "", [], "cpu")


def test_counts_keep_kinds_apart():
    rows = [paired("paper", "a", "", values(62, 0), values(60, 1), "a", "b", "cpu"),
            paired("setup", "b", "", values(60, 0), values(62, 1), "a", "b", "cpu"),
            paired("question", "c", "", *null_pair(), "a", "b", "cpu"),
            not_run("paper", "d", "", "no CIFAR-100 here")]
    assert counts(rows) == {"paper": {"reproduced": 1, "not run": 1}, "setup": {"fails": 1}, "question": {"open": 1}}
    assert counts_text(rows) == ("paper claims (2): 1 reproduced, 1 not run; setup checks (1): 1 fails; "
                                 "our questions (1): 1 open")
    with pytest.raises(ValueError, match="unknown kind"):
        verdict_word("premise", 1)
