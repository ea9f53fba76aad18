"""The cost model: a census of what a run trained, mapped onto any profile and priced by images/s."""
import json
from pathlib import Path

import pytest

from takdlib import budget
from takdlib.files import quoted
from takdlib.methods import HintSettings
from takdlib.recipes import augmented
from takdlib.profiles import get_profile, recipes_for

REPO = Path(__file__).resolve().parent.parent


def fake_store(root: Path, recipes) -> Path:
    """recipe.json files as a store keeps them: all the census reads."""
    for i, r in enumerate(recipes):
        folder = root / f"{i:02d}" / r.address()
        folder.mkdir(parents=True)
        (folder / "recipe.json").write_text(json.dumps(r.as_dict()))
    return root


def takd_graph(seeds=None):
    out = []
    for s in seeds or get_profile("cpu").seeds:  # the census divides by the profile's seeds
        student = recipes_for("cpu").chain(["plain10", "plain4", "plain2"], s)
        out += [student, student.guides[0], student.guides[0].guides[0]]
    return out


def test_census_counts_trainings_per_seed_by_role(tmp_path):
    counts = budget.census(fake_store(tmp_path, takd_graph()), "cpu")
    assert counts == {budget.Entry("plain10", "teacher", "cifar10", ()): 1,
                      budget.Entry("plain4", "assistant", "cifar10", ("plain10",)): 1,
                      budget.Entry("plain2", "student", "cifar10", ("plain4",)): 1}


def test_variants_keep_their_role_and_resnets_are_named_by_chain_position(tmp_path):
    head = recipes_for("cpu").teacher("plain10", 0)
    hint_stage = recipes_for("cpu").fitnet("resnet14", head, HintSettings(layers=(1, 2))).init
    counts = budget.census(fake_store(tmp_path, [augmented(recipes_for("cpu").chain(["plain10", "plain2"], 0)), hint_stage]), "cpu")
    assert budget.Entry("plain2", "student", "cifar10", ("plain10",), 1.0, True) in counts
    share = round(hint_stage.optim.epochs / get_profile("cpu").student.resnet.epochs, 3)  # FitNets' stage 1: about half
    assert 0 < share < 1
    assert budget.Entry("resnet_chain[1]", "student", "cifar10", ("plain10",), share, False) in counts
    hints = [t for t in budget.trainings(counts, "cpu", "paper") if t.guides == ("plain10",) and t.arch != "plain2"]
    assert {(t.arch, t.epochs) for t in hints} == {("resnet20", round(150 * share))}  # paper's chain: 110 -> 20 -> 8


def test_a_training_costs_its_steps_and_its_guides_forward_passes(tmp_path):
    counts = budget.census(fake_store(tmp_path, takd_graph()), "cpu")
    rates = {"plain10": 400.0, "plain4": 2000.0, "plain2": 5000.0}
    cpu = get_profile("cpu")
    trs = budget.trainings(counts, "cpu", "cpu")
    assert len(trs) == len(cpu.seeds) * (2 + cpu.students_per_seed)  # per seed: teacher, TA, and the plain2 students
    student = next(t for t in trs if t.arch == "plain2")
    n, epochs = cpu.student.data.train_per_class * 10, cpu.student.plain.epochs
    assert budget.seconds(student, rates) == pytest.approx(n * epochs / 5000 + n / 3 / 2000)  # logits once
    head = next(t for t in trs if t.arch == "plain10")
    every = (5000 - cpu.teacher.data.val_per_class) * 10  # the plain teachers learn from every image not held out
    assert cpu.teacher.data_for("plain10").train_per_class is None
    assert head.augment and budget.seconds(head, rates) == pytest.approx(every * cpu.teacher.plain.epochs / 400)
    gpu = budget.trainings(counts, "cpu", "gpu")
    assert {t.images for t in gpu} == {(5000 - 100) * 10}  # full CIFAR-10 less the validation images
    paper = budget.estimate(counts, "cpu", "paper", {**rates, **{f"resnet{d}": 1000.0 for d in (8, 14, 20, 26, 32, 44, 56, 110)}})
    assert paper["trainings"] == 9 + 2 * 5 * 3  # five more ResNet teachers, each with a student, per seed
    with pytest.raises(ValueError, match="no images/s for resnet"):
        budget.estimate(counts, "cpu", "paper", rates)


def test_an_empty_store_is_refused_with_the_command_that_fills_it(tmp_path):
    with pytest.raises(ValueError, match="run_all.sh --profile cpu"):
        budget.census(tmp_path, "cpu")


def test_the_committed_census_round_trips_and_the_readme_table_is_its_output():
    source, counts = budget.read_census()
    assert source == "cpu" and sum(counts.values()) > 20
    rates = budget.rates_from_flops(sorted({a for name in budget.PROFILES for t in budget.trainings(counts, source, name)
                                            for a in (t.arch, *t.guides)}), 25.0, 1000.0)
    table = budget.table(counts, source, rates, "one H100, assumed 25 TFLOP/s and at most 1000 steps/s")
    assert quoted((REPO / "README.md").read_text(), "budget") == table  # as the code computes it from the census


def test_further_students_of_a_seed_are_left_out_of_the_census_and_priced_per_target_profile(tmp_path):
    cpu = get_profile("cpu")
    students = [r for s in cpu.seeds for r in recipes_for("cpu").student_seeds(recipes_for("cpu").chain(["plain10", "plain2"], s))]
    assert len(students) == len(cpu.seeds) * cpu.students_per_seed
    counts = budget.census(fake_store(tmp_path, students), "cpu")
    assert counts[budget.Entry("plain2", "student", "cifar10", ("plain10",))] == 1.0  # one per seed
    per_profile = {p: sum(t.arch == "plain2" for t in budget.trainings(counts, "cpu", p)) for p in ("cpu", "paper")}
    assert per_profile == {"cpu": len(cpu.seeds) * cpu.students_per_seed, "paper": 3}


def test_spent_splits_a_stretch_of_a_run_by_role_and_model(tmp_path, jpeg_archive, monkeypatch):
    import time

    from takdlib.store import Store
    from conftest import tiny

    monkeypatch.setenv("TAKD_CACHE", str(tmp_path / "cache"))
    store = Store(tmp_path / "store", jpeg_archive, log=lambda _: None)
    before = time.time()
    student = tiny(recipes_for("smoke").chain(["plain4", "plain2"], 0))
    store.get(student)
    store.derived(student, "answer", {"n": 1}, lambda: time.sleep(0.3) or {"x": 1})  # a value that takes time
    split = budget.spent(tmp_path / "store", before, time.time())
    assert split["trained"] == 2 and set(split["train"]) == {"teacher", "student"}
    assert set(split["train"]["teacher"]) == {"plain4"} and set(split["train"]["student"]) == {"plain2"}
    # a tiny model may train in under the split's rounding (0.0 s on a fast CPU); the derived value cannot
    assert split["train"]["teacher"]["plain4"] >= 0 and split["train"]["student"]["plain2"] >= 0
    assert split["derived"] >= 0.3
    assert split["compile"] == 0.0  # smoke compiles nothing
    assert budget.spent(tmp_path / "store", time.time() + 1, time.time() + 2)["trained"] == 0  # nothing then
