"""The premise builders measure the models a premise names, in the regime it names, and judge them like any
setup check: a stand-in experiment answers `measure` with accuracies chosen per recipe, so the test sees which
recipes were asked for and what the row decides."""
from dataclasses import replace

import pandas as pd
import pytest

from takdlib.claims import given, paired
from takdlib.premises import larger_is_better, ta_between
from takdlib.profiles import get_profile
from takdlib.recipes import Recipes

SEED_NOISE = {0: 0.3, 1: -0.2, 2: 0.1, 3: -0.2}


class StandIn:
    """An experiment whose models score accuracy(recipe) + a per-seed wobble; it remembers what it measured."""

    def __init__(self, accuracy, profile="cpu"):
        self.profile = get_profile(profile)
        self.recipes = Recipes(self.profile)
        self.seeds = (0, 1, 2, 3)
        self.accuracy = accuracy
        self.asked = []

    def measure(self, rows):
        records = []
        for labels, recipes in rows:
            recipes = (recipes,) if not isinstance(recipes, tuple) else recipes
            self.asked += recipes
            acc = sum(self.accuracy(r) + SEED_NOISE[r.seed % 1000] * (1 + r.seed // 1000) for r in recipes)
            records.append(dict(labels, seed=recipes[0].seed, acc=acc / len(recipes)))
        return pd.DataFrame.from_records(records)


SIZE = {"plain2": 50, "plain4": 55, "plain6": 58, "plain8": 60, "plain10": 70, "resnet8": 52, "resnet14": 56,
        "resnet20": 58}


def test_larger_is_better_trains_each_size_alone_in_the_roles_regime():
    exp = StandIn(lambda r: SIZE[r.arch])
    row = larger_is_better(exp, ["plain2", "plain4", "plain6"], role="assistant")
    assert row["kind"] == "setup" and row["verdict"] == "holds"
    assert "assistants' regime" in row["claim"] and "plain2 < plain4 < plain6" in row["claim"]
    assert "plain2 50.0" in row["ours"]  # each model's own accuracy beside the row
    assert all(r.method.name == "scratch" and r.data == exp.profile.assistant.data_for(r.arch) for r in exp.asked)
    assert {r.arch for r in exp.asked} == {"plain2", "plain4", "plain6"}


def test_a_size_that_does_not_help_makes_the_premise_fail_and_the_claim_untestable():
    exp = StandIn(lambda r: {**SIZE, "plain8": 54}[r.arch])
    premise = larger_is_better(exp, ["plain2", "plain4", "plain6", "plain8"])
    assert premise["verdict"] == "fails" and "plain8 − plain6 -4.00" in premise["ours"]
    claim = paired("paper", "x", "", {0: 2.0, 1: 2.1, 2: 1.9, 3: 2.0}, {s: 0.0 for s in range(4)}, "a", "b", "cpu")
    assert given([premise], claim)["verdict"] == "not testable here"
    with pytest.raises(ValueError, match="at least two"):
        larger_is_better(exp, ["plain2"])


def test_ta_between_compares_the_ta_with_the_student_trained_as_the_ta_was():
    def accuracy(r):
        if not r.guides:
            return SIZE[r.arch]  # the teacher
        # a distilled model: its size's accuracy, a little more in the assistants' regime
        return SIZE[r.arch] - 3 + (1 if r.data == exp.profile.assistant.data_for(r.arch) else 0)

    exp = StandIn(accuracy)
    row = ta_between(exp, ["plain10", "plain6", "plain4", "plain2"])
    assert row["verdict"] == "holds"
    assert all(w in row["ours"] for w in ("teacher plain10", "TA1 plain6", "TA2 plain4", "student plain2"))
    students = [r for r in exp.asked if r.arch == "plain2"]
    assert students and all(r.data == exp.profile.assistant.data_for("plain2") for r in students)
    assert all(s.guides[0].arch == "plain10" and s.method.name == "kd" for s in students)
    with pytest.raises(ValueError, match="at least three"):
        ta_between(exp, ["plain10", "plain2"])


def test_a_ta_below_its_student_fails_the_premise():
    exp = StandIn(lambda r: SIZE[r.arch] if not r.guides else {"plain4": 40, "plain2": 50}[r.arch])
    assert ta_between(exp, ["plain10", "plain4", "plain2"])["verdict"] == "fails"


def test_when_students_and_assistants_share_a_regime_the_comparison_is_the_blkd_student():
    p = get_profile("cpu")
    shared = replace(p, assistant=p.student)
    R = Recipes(shared)
    assert R.distill("plain2", R.teacher("plain10", 0), role="assistant") == R.chain(["plain10", "plain2"], 0)


def test_tuned_rates_set_the_learning_rate_of_assistants_and_students_only():
    from takdlib.methods import HintSettings
    from takdlib.recipes import Tuning

    p = get_profile("cpu")
    tuning = Tuning(grid=(0.02, 0.05, 0.1), rule="test", rates=(("kd", "plain", 0.1), ("scratch", "plain", 0.02),
                                                                 ("hint", "resnet", 0.02), ("kd", "resnet", 0.1)))
    R = Recipes(replace(p, tuning=tuning))
    takd = R.chain(["plain10", "plain4", "plain2"], 0)
    assert takd.optim.lr == takd.guides[0].optim.lr == 0.1
    assert takd.guides[0].guides[0].optim.lr == p.teacher.plain.lr  # a teacher keeps its regime's rate
    assert R.scratch("plain2", 0).optim.lr == 0.02 and R.teacher("plain2", 0).optim.lr == p.teacher.plain.lr
    assert R.scratch("resnet8", 0).optim.lr == p.student.resnet.lr  # not tuned: the regime's
    fit = R.fitnet("resnet8", R.teacher("resnet20", 0), HintSettings(layers=(1, 1)))
    assert (fit.init.optim.lr, fit.optim.lr) == (0.02, 0.1)
    assert fit.optim.epochs + fit.init.optim.epochs == p.student.resnet.epochs
    with pytest.raises(ValueError, match="one of the grid"):
        Tuning(grid=(0.05,), rule="test", rates=(("kd", "plain", 0.1),))


def test_tuned_alike_holds_only_when_every_compared_method_was_tuned():
    from takdlib.premises import tuned_alike
    from takdlib.recipes import Tuning

    exp = StandIn(lambda r: 0.0)
    exp.profile = replace(exp.profile, tuning=None)  # a profile whose methods were not tuned
    R = exp.recipes
    b = R.baselines(["plain10", "plain4", "plain2"], 0)
    row = tuned_alike(exp, list(b.values()), "plain chain")
    assert row["verdict"] == "fails" and "no tuned rate: kd (plain2), kd (plain4), scratch (plain2)" in row["ours"]
    assert tuned_alike(exp, [b["BLKD"], b["TAKD"]], "KD only")["verdict"] == "holds"  # one method, one rate
    exp.profile = replace(exp.profile, tuning=Tuning(grid=(0.05,), rule="one grid", rates=(
        ("kd", "plain", 0.05), ("scratch", "plain", 0.05))))
    row = tuned_alike(exp, list(b.values()), "plain chain")
    assert row["verdict"] == "holds" and "grid [0.05], one grid" in row["ours"]
    # the cpu profile's own tuning (benchmarks/PILOTS.md) covers every method its notebooks compare
    assert tuned_alike(StandIn(lambda r: 0.0), list(b.values()), "plain chain")["verdict"] == "holds"
