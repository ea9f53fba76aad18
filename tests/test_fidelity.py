"""Fidelity (Stanton et al.'s agreement and predictive KL) against its definitions, and in every measured row
of a distilled student."""
import math

import pytest
import torch

from takdlib.fidelity import agreement, fidelity, head, predictive_kl, logits_on_test
from takdlib.profiles import recipes_for
from takdlib.store import Store
from takdlib.train import predict
from conftest import tiny


def test_agreement_and_kl_follow_their_definitions():
    teacher = torch.tensor([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 1.0], [1.0, 2.0, 0.5]])
    student = torch.tensor([[1.0, 0.5, 0.0], [2.0, 0.0, 0.0], [0.0, 0.1, 2.0], [0.0, 1.0, 0.0]])
    assert agreement(teacher, student) == pytest.approx(75.0)  # rows 0, 2, 3 agree
    expected = 0.0
    for t, s in zip(teacher.tolist(), student.tolist()):
        p = [math.exp(v) / sum(math.exp(w) for w in t) for v in t]
        q = [math.exp(v) / sum(math.exp(w) for w in s) for v in s]
        expected += sum(a * math.log(a / b) for a, b in zip(p, q)) / len(teacher)
    assert predictive_kl(teacher, student) == pytest.approx(expected, rel=1e-5)
    assert predictive_kl(teacher, teacher) == pytest.approx(0.0, abs=1e-6) and agreement(teacher, teacher) == 100.0


def test_a_distilled_students_fidelity_is_to_the_head_of_its_lineage(tmp_path, jpeg_archive, monkeypatch):
    monkeypatch.setenv("TAKD_CACHE", str(tmp_path / "cache"))
    store = Store(tmp_path / "store", jpeg_archive, log=lambda _: None)
    takd = tiny(recipes_for("smoke").chain(["plain6", "plain4", "plain2"], 0))
    assert head(takd) == takd.guides[0].guides[0]
    f = fidelity(store, takd)
    assert 0 <= f["agreement"] <= 100 and f["kl"] >= 0
    assert fidelity(store, takd.guides[0].guides[0])["agreement"] == 100.0  # a teacher agrees with itself
    ta = takd.guides[0]
    to_ta = fidelity(store, takd, ta)  # another teacher, asked for: the TA, on the student's test images
    mine, ta_logits = logits_on_test(store, takd, takd.data), logits_on_test(store, ta, takd.data)
    assert to_ta == {"agreement": agreement(ta_logits, mine), "kl": predictive_kl(ta_logits, mine)}


def test_measured_rows_carry_fidelity_for_distilled_models_only(tmp_path, jpeg_archive, monkeypatch):
    from takdlib.experiment import Experiment

    monkeypatch.setenv("TAKD_CACHE", str(tmp_path / "cache"))
    store = Store(tmp_path / "store", jpeg_archive, log=lambda _: None)
    R = recipes_for("smoke")
    exp = Experiment("x", R.profile, "cifar10", (0,), store, tmp_path / "f", tmp_path / "r")
    blkd = tiny(R.chain(["plain4", "plain2"], 0))
    df = exp.measure([({"m": "BLKD"}, blkd), ({"m": "NOKD"}, tiny(R.scratch("plain2", 0)))])
    row = df.set_index("m")
    assert row.loc["BLKD", "agreement"] == fidelity(store, blkd)["agreement"]
    assert row.loc["NOKD", "agreement"] is None or math.isnan(row.loc["NOKD", "agreement"])


def test_fidelity_scores_the_predictions_whose_accuracy_is_reported(tmp_path, jpeg_archive, monkeypatch):
    """Test logits in the model's own precision: their argmax is the reported accuracy, bf16 as fp32; a teacher's
    logits on the same test images serve every DataSpec that has them, computed once."""
    from dataclasses import replace

    from takdlib.recipes import with_data

    monkeypatch.setenv("TAKD_CACHE", str(tmp_path / "cache"))
    store = Store(tmp_path / "store", jpeg_archive, log=lambda _: None)
    R = recipes_for("smoke")
    for precision in ("fp32", "bf16"):
        blkd = tiny(R.chain(["plain4", "plain2"], 0))
        blkd = replace(blkd, optim=replace(blkd.optim, precision=precision))
        logits, split = logits_on_test(store, blkd, blkd.data), store.split(blkd.data)
        accuracy = 100.0 * (logits.argmax(1) == split.test_y).float().mean().item()  # as train.evaluate
        assert accuracy == store.get(blkd).summary["final_test_acc"]
        in_fp32 = predict(store.get(blkd).model, split.test_x, split.input_std, "fp32")
        assert torch.equal(logits, in_fp32) == (precision == "fp32")
    teacher = blkd.guides[0]
    logits_on_test(store, teacher, blkd.data)
    logits_on_test(store, teacher, with_data(blkd, augment=True, train_per_class=2).data)  # same test images
    assert len(list(store.path(teacher).glob("test_logits-*.pt"))) == 1
