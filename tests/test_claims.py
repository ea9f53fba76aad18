"""Each verdict rule decides a built-in effect, calls the opposite effect its opposite, and stays undecided on
a null: synthetic tables of 4 seeds, a shared seed effect and small, fixed per-seed noise."""
import pytest

from takdlib.claims import (KINDS, NOT_JUDGED, NOT_TESTABLE, counts, counts_text, every, given, midpoint, not_run,
                            paired, ranking, rise_then_fall, search_agrees, steps, verdict_word)
from takdlib.paths import dp_search, exhaustive_search, substructure
from takdlib.stats import ALPHA, compare, t_critical

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


# --- each threshold, pinned: an effect just past a rule's critical value is decided, one just short is not ----

OFFSETS = (-1.5, -0.5, 0.5, 1.5)  # per-seed noise of a difference: mean 0, sd √(5/3)
SD = (5 / 3) ** 0.5


def at_t(t: float, base: dict[int, float] | None = None) -> tuple[dict[int, float], dict[int, float]]:
    """(A, B) over the four seeds with compare(A, B).t == t exactly; B defaults to a seed-effect table."""
    b = values(60.0, 0) if base is None else base
    mean = t * SD / len(SEEDS) ** 0.5
    return {s: b[s] + mean + OFFSETS[i] for i, s in enumerate(SEEDS)}, b


CRIT = t_critical(len(SEEDS))  # 5 %, two-sided, 3 degrees of freedom


def test_at_t_builds_the_t_it_is_asked_for():
    assert compare(*at_t(2.5)).t == pytest.approx(2.5)
    assert compare(*at_t(-4.0)).t == pytest.approx(-4.0)


@pytest.mark.parametrize("kind", list(KINDS))
def test_paired_flips_exactly_at_the_critical_value(kind):
    holds, opposite, undecided = KINDS[kind]
    verdict = lambda t: paired(kind, "a beats b", "", *at_t(t), "a", "b", "cpu")["verdict"]  # noqa: E731
    assert (verdict(1.01 * CRIT), verdict(0.99 * CRIT)) == (holds, undecided)
    assert (verdict(-1.01 * CRIT), verdict(-0.99 * CRIT)) == (opposite, undecided)


def test_a_margin_flips_exactly_at_the_margin_plus_the_critical_value():
    b = values(60.0, 1)
    for t, word in ((1.01 * CRIT, "holds"), (0.99 * CRIT, "unsettled"), (-1.01 * CRIT, "fails")):
        a, _ = at_t(t, b)
        a = {s: v + 10 for s, v in a.items()}
        assert paired("setup", "gap ≥ 10", "", a, b, "t", "s", "cpu", margin=10)["verdict"] == word


def test_every_holds_only_when_each_part_passes_five_percent():
    """An intersection–union test: each part at 5 %, no correction (Bonferroni here would lose the first)."""
    parts = lambda ts: steps([(f"p{i}", *at_t(t, values(60, i))) for i, t in enumerate(ts)])  # noqa: E731
    assert every("setup", "all", "", parts([1.01 * CRIT] * 3), "cpu")["verdict"] == "holds"
    assert every("setup", "all", "", parts([1.01 * CRIT, 1.01 * CRIT, 0.99 * CRIT]), "cpu")["verdict"] == "unsettled"


def test_every_fails_only_past_holms_first_step():
    """One of three parts against the claim: decided at 5 % / 3, not at 5 % alone (without Holm it would be)."""
    holm_crit = t_critical(len(SEEDS), ALPHA / 3)
    parts = lambda t: steps([("p0", *at_t(t)), ("p1", *at_t(0.3, values(60, 1))),  # noqa: E731
                             ("p2", *at_t(-0.3, values(60, 2)))])
    assert every("paper", "all", "", parts(-1.01 * CRIT), "cpu")["verdict"] == "inconclusive"
    assert every("paper", "all", "", parts(-0.99 * holm_crit), "cpu")["verdict"] == "inconclusive"
    assert every("paper", "all", "", parts(-1.01 * holm_crit), "cpu")["verdict"] == "not reproduced"


def test_holm_steps_down_to_a_second_part():
    """Two parts against the claim: the stronger passes 5 % / 2, the weaker then needs only 5 % / 1."""
    from takdlib.claims import holm

    strong, weak = compare(*at_t(-1.01 * t_critical(4, ALPHA / 2))), compare(*at_t(-1.01 * CRIT, values(60, 1)))
    assert holm([strong, weak]) == [-1, -1]
    assert holm([compare(*at_t(-0.99 * t_critical(4, ALPHA / 2))), weak]) == [0, 0]


def _curve(first, mid1, mid2, last):
    return [("plain4", first), ("plain6", mid1), ("plain8", mid2), ("plain10", last)]


def test_rise_then_fall_peak_needs_five_percent_over_the_interior_teachers():
    interior_crit = t_critical(len(SEEDS), ALPHA / 2)  # two interior teachers
    base = values(60.0, 0)
    for t, word in ((1.01 * interior_crit, "reproduced"), (0.99 * interior_crit, "inconclusive")):
        peak, _ = at_t(t, base)
        low = {s: v - 5 for s, v in values(60.0, 2).items()}
        row = rise_then_fall("paper", "peak", "", _curve(base, peak, low, dict(base)), "cpu")
        assert row["verdict"] == word
    assert 0.99 * interior_crit > CRIT  # so the inconclusive case above would be called without the correction
    assert "at 2.5 %" in row["power"]
    assert f"|Δ| ≥ {compare(peak, base).smallest_callable(ALPHA / 2):.2f}" in row["power"]


def test_rise_then_fall_opposite_needs_five_percent_over_the_two_ends():
    end_crit = t_critical(len(SEEDS), ALPHA / 2)
    interior = values(60.0, 0)
    for t, word in ((1.01 * end_crit, "not reproduced"), (0.99 * end_crit, "inconclusive")):
        end, _ = at_t(t, interior)
        low_end = {s: v - 5 for s, v in interior.items()}
        assert rise_then_fall("paper", "peak", "", _curve(end, interior, dict(interior), low_end),
                              "cpu")["verdict"] == word


def test_midpoint_opposite_is_holm_over_the_farther_tas():
    teacher, student = values(80, 0), values(50, 1)  # midpoint 65
    tas = {"plain8": values(75, 2), "plain6": values(73, 3), "plain4": values(65, 0)}  # plain8, plain6 farther
    for t, word in ((-1.01 * CRIT, "inconclusive"), (-1.01 * t_critical(4, ALPHA / 2), "not reproduced")):
        via4, via8 = at_t(t, values(53, 1))
        via6 = {s: via4[s] - 0.3 * SD / 2 - OFFSETS[i] for i, s in enumerate(SEEDS)}  # via4 − via6: t = 0.3
        taught = {"plain4": via4, "plain8": via8, "plain6": via6}
        row = midpoint("paper", "mid", "", teacher, student, tas, taught, "cpu")
        assert row["verdict"] == word, row


FULL = ("plain10", "plain8", "plain6", "plain4", "plain2")


def test_search_rule_is_holm_over_the_k_where_the_dp_can_miss():
    other = ("plain10", "plain8", "plain4", "plain2")
    for t, word in ((1.01 * CRIT, "inconclusive"), (1.01 * t_critical(4, ALPHA / 2), "not reproduced")):
        exhaustive_acc, dp_acc = at_t(t)
        picks = [dict(k=k, dp=other, exhaustive=FULL, dp_acc=dp_acc, exhaustive_acc=exhaustive_acc) for k in (2, 3)]
        assert search_agrees("paper", "dp", "", picks, "cpu")["verdict"] == word


def test_search_rule_cannot_be_judged_where_the_best_path_has_one_ta():
    one_ta = ("plain10", "plain4", "plain2")
    picks = [dict(k=k, dp=one_ta, exhaustive=one_ta, dp_acc=values(60), exhaustive_acc=values(60)) for k in (2, 3)]
    row = search_agrees("paper", "dp", "", picks, "cpu")
    assert row["verdict"] == NOT_TESTABLE and "agreement forced" in row["ours"] and "cannot miss" in row["power"]
    assert search_agrees("paper", "dp", "", picks, "smoke")["verdict"] == NOT_JUDGED
    assert counts([row]) == {"paper": {NOT_TESTABLE: 1}}


def test_substructure_checks_each_prefix_that_had_a_rival():
    evaluate = {("plain10", "plain6", "plain4"): 60.0, ("plain10", "plain8", "plain4"): 68.0}.get
    path = ("plain10", "plain6", "plain4", "plain2")
    (check,) = substructure(path, FULL, lambda p: evaluate(p, 50.0))  # (10, 6): its only rival is itself
    assert check["prefix"] == path[:3] and check["best"] == ("plain10", "plain8", "plain4") and not check["holds"]
    assert "is not the best 2-step path to plain4" in check["text"]
    evaluate = {("plain10", "plain6", "plain4"): 70.0, ("plain10", "plain8", "plain4"): 68.0}.get
    assert substructure(path, FULL, lambda p: evaluate(p, 50.0))[0]["holds"]
    assert substructure(FULL, FULL, lambda p: 50.0) == []  # every prefix of the full path is the only one of its kind


# --- premises ----------------------------------------------------------------------------------------------

def _premise(verdict_t: float, claim: str = "plain4 beats plain2 trained alike") -> dict:
    return paired("setup", claim, "", *at_t(verdict_t), "plain4", "plain2", "cpu")


def test_a_claim_is_judged_only_where_its_premises_hold():
    claim = paired("paper", "TAKD beats BLKD", "", *at_t(10.0), "TAKD", "BLKD", "cpu")
    judged = given([_premise(10.0)], claim)
    assert judged["verdict"] == "reproduced" and judged["premises"] == "plain4 beats plain2 trained alike"
    for premise_t, premise_word in ((-10.0, "fails"), (0.99 * CRIT, "unsettled")):
        row = given([_premise(10.0, "teacher beats TA"), _premise(premise_t)], claim)
        assert row["verdict"] == NOT_TESTABLE and row["ours"] == claim["ours"]
        assert row["power"] == f"premise not met: plain4 beats plain2 trained alike ({premise_word})"
    assert given([_premise(1.01 * CRIT)], claim)["verdict"] == "reproduced"  # a premise just past the line
    opposite = paired("paper", "TAKD beats BLKD", "", *at_t(-10.0), "TAKD", "BLKD", "cpu")
    assert given([_premise(-10.0)], opposite)["verdict"] == NOT_TESTABLE  # never "not reproduced" on a failed premise
    smoke = paired("paper", "x", "", *at_t(10.0), "a", "b", "smoke")
    assert given([paired("setup", "p", "", *at_t(-10.0), "a", "b", "smoke")], smoke)["verdict"] == NOT_JUDGED


def test_premises_must_be_named_setup_checks():
    claim = paired("paper", "TAKD beats BLKD", "", *at_t(10.0), "TAKD", "BLKD", "cpu")
    with pytest.raises(ValueError, match="no premises"):
        given([], claim)
    with pytest.raises(ValueError, match="must be setup checks"):
        given([claim], claim)
    with pytest.raises(ValueError, match="premise itself"):
        given([_premise(10.0)], _premise(10.0))
    rows = [given([_premise(-10.0)], claim), claim]
    assert counts(rows) == {"paper": {"reproduced": 1, NOT_TESTABLE: 1}}
