"""The methods behind one interface: AT's and FSP's losses against their formulas written out, a method
added without touching the training loop, and recipe addresses that outlive new fields."""

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from takdlib import methods
from takdlib.data import load_arrays, make_split
from takdlib.methods.attention import at_loss
from takdlib.methods.base import Method
from takdlib.methods.fsp import fsp_loss, fsp_matrix
from takdlib.profiles import recipes_for
from takdlib.train import train
from conftest import tiny


@pytest.fixture(scope="module")
def split(jpeg_archive, tmp_path_factory):
    arrays = load_arrays("cifar10", jpeg_archive, tmp_path_factory.mktemp("cache"))
    return make_split(arrays, train_per_class=3, val_per_class=1)


SMOKE = recipes_for("smoke")


def quiet(_):
    pass


def test_attention_transfer_is_its_formula():
    gen = torch.Generator().manual_seed(0)
    student = [torch.randn(2, 3, 4, 4, generator=gen), torch.randn(2, 5, 2, 2, generator=gen)]
    teacher = [torch.randn(2, 6, 4, 4, generator=gen), torch.randn(2, 7, 2, 2, generator=gen)]
    expected = 0.0
    for s, t in zip(student, teacher):  # per image: q = Σ_c f_c² / C over positions, q / ||q||₂
        B, HW = s.shape[0], s.shape[2] * s.shape[3]
        total = 0.0
        for b in range(B):
            qs = (s[b] ** 2).sum(0).flatten() / s.shape[1]
            qt = (t[b] ** 2).sum(0).flatten() / t.shape[1]
            total += ((qs / qs.norm() - qt / qt.norm()) ** 2).sum()
        expected += total / (B * HW)
    assert at_loss(student, teacher) == pytest.approx(float(expected), rel=1e-5)
    assert at_loss(teacher, teacher) == 0


def test_fsp_matrices_and_loss_are_their_formulas():
    gen = torch.Generator().manual_seed(1)
    a, b = torch.randn(2, 3, 4, 4, generator=gen), torch.randn(2, 5, 2, 2, generator=gen)
    pooled = a.reshape(2, 3, 2, 2, 2, 2).mean((3, 5))  # 2 × 2 means: a at b's size
    G = torch.zeros(2, 3, 5)
    for n in range(2):
        for i in range(3):
            for j in range(5):
                G[n, i, j] = (pooled[n, i] * b[n, j]).sum() / 4
    assert torch.allclose(fsp_matrix(a, b), G, atol=1e-6)
    c, d = torch.randn(2, 3, 4, 4, generator=gen), torch.randn(2, 5, 2, 2, generator=gen)
    e = torch.randn(2, 5, 2, 2, generator=gen)
    expected = ((fsp_matrix(a, b) - fsp_matrix(c, d)) ** 2).mean() + ((fsp_matrix(b, e) - fsp_matrix(d, e)) ** 2).mean()
    assert fsp_loss([a, b, e], [c, d, e]) == pytest.approx(float(expected), rel=1e-6)


def test_at_and_fsp_students_train_and_log_their_terms(split):
    guide_recipe = tiny(recipes_for("smoke").scratch("resnet14", 0, role="teacher"))
    guide, _ = train(guide_recipe, split, log=quiet)
    for method, weight, term in [("at", 1000.0, "at"), ("fsp", 1.0, "fsp")]:
        recipe = tiny(SMOKE.distill("resnet8", guide_recipe, method=method, method_weight=weight))
        _, history = train(recipe, split, guides=[guide], log=quiet)
        assert list(history["epochs"][-1]["loss_terms"]) == ["ce", term]
        assert recipe.describe() == f"resnet8 <- {method}[resnet14]"
    with pytest.raises(ValueError, match="needs method_weight"):
        SMOKE.distill("resnet8", guide_recipe, method="at")
    plain_guide, _ = train(tiny(recipes_for("smoke").scratch("plain4", 0)), split, log=quiet)
    with pytest.raises(ValueError, match="cannot compare"):  # a plain CNN's blocks do not pair with a ResNet's
        train(tiny(SMOKE.distill("resnet8", recipes_for("smoke").scratch("plain4", 0), method="at", method_weight=1.0)), split,
              guides=[plain_guide], log=quiet)


def test_a_new_method_plugs_in_without_touching_the_training_loop(split, monkeypatch):
    class LabelSmoothing(Method):
        name = "smooth"

        def loss_terms(self, step):
            with step.autocast():
                logits = step.model(step.x)
            return {"smoothed ce": F.cross_entropy(logits.float(), step.y, label_smoothing=0.1)}

    monkeypatch.setitem(methods.METHODS, "smooth", LabelSmoothing())
    recipe = tiny(recipes_for("smoke").scratch("plain2", 0, method="smooth"))
    _, history = train(recipe, split, log=quiet)
    assert list(history["epochs"][0]["loss_terms"]) == ["smoothed ce"]
    with pytest.raises(ValueError, match="unknown method 'nothing'"):
        recipes_for("smoke").scratch("plain2", 0, method="nothing")


def test_the_committed_designs_recipes_keep_their_addresses():
    """A change here orphans every stored model: new recipe fields are hashed only when set."""
    assert recipes_for("cpu").scratch("plain2", 0).address().startswith("412f58d0ec56bd03")
    assert recipes_for("cpu").chain(["plain10", "plain4", "plain2"], 1).address().startswith("26e059d032fcc8bb")
    head = recipes_for("cpu").teacher("resnet20", 0)
    assert recipes_for("cpu").distill("resnet8", head, method="at", method_weight=1e3).address() != recipes_for("cpu").distill("resnet8", head).address()
    assert replace(recipes_for("cpu").scratch("plain2", 0), method_weight=None).address() == recipes_for("cpu").scratch("plain2", 0).address()
