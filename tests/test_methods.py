"""The methods behind one interface: AT's and FSP's losses against their formulas written out, a method
added without touching the training loop or the recipes, each method's settings checked when made, and the
recipe addresses pinned."""

from dataclasses import dataclass, replace

import pytest
import torch
import torch.nn.functional as F

from takdlib import methods
from takdlib.data import load_arrays, make_split
from takdlib.methods import (AttentionSettings, DGKDSettings, DISTSettings, DKDSettings, FSPSettings, HintSettings,
                             KDSettings, LabelSmoothingSettings)
from takdlib.methods.attention import Attention
from takdlib.methods.base import Method
from takdlib.methods.fsp import FSP, fsp_matrix
from takdlib.recipes import MethodSettings
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
    at = Attention()  # the method's distance: half the sum (β/2 · Σ_j), from the teacher's targets
    assert at.distance(student, at.targets((None, teacher))) == pytest.approx(float(expected) / 2, rel=1e-5)
    assert at.distance(teacher, at.targets((None, teacher))) == 0


def test_the_attention_maps_gradient_comes_back_channels_last_with_the_same_values(monkeypatch):
    """Each ResNet stage feeds the next and its attention map; the two gradients are summed. The next stage's is
    channels-last; the map's must be too, or the sum and the kernels after it run strided
    (benchmarks/feature_grad_layout.py). The same gradients either way."""
    from takdlib.methods import attention
    from takdlib.models import build_model

    x = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(2)).contiguous(
        memory_format=torch.channels_last)
    layouts, grads = {}, {}
    for laid_out in (True, False):
        if not laid_out:
            monkeypatch.setattr(attention, "channels_last_grad", lambda features: features)
        torch.manual_seed(0)
        model = build_model("resnet8", 10).to(memory_format=torch.channels_last).train()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits, stages = model(x, features=True)
        for i, stage in enumerate(stages):
            stage.register_hook(lambda g, i=i, k=laid_out: layouts.__setitem__((k, i), g.is_contiguous(
                memory_format=torch.channels_last)))
        (logits.float().logsumexp(1).sum() + sum(attention.attention_map(s).sum() for s in stages)).backward()
        grads[laid_out] = [p.grad for p in model.parameters()]
    assert all(layouts[True, i] for i in range(3))
    assert not any(layouts[False, i] for i in range(3))  # what the helper is for
    assert all(torch.equal(a, b) for a, b in zip(grads[True], grads[False]))


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
    fsp = FSP()  # the method's distance, from the teacher's targets
    assert fsp.distance([a, b, e], fsp.targets((None, [c, d, e]))) == pytest.approx(float(expected), rel=1e-6)


def test_at_and_fsp_students_train_and_log_their_terms(split):
    guide_recipe = tiny(recipes_for("smoke").scratch("resnet14", 0, role="teacher"))
    guide, _ = train(guide_recipe, split, log=quiet)
    for settings, term in [(AttentionSettings(weight=1000.0), "at"), (FSPSettings(weight=1.0), "fsp")]:
        recipe = tiny(SMOKE.distill("resnet8", guide_recipe, method=settings))
        _, history = train(recipe, split, guides=[guide], log=quiet)
        assert list(history["epochs"][-1]["loss_terms"]) == ["ce", term]
        assert recipe.describe() == f"resnet8 <- {term}[resnet14]"
    with pytest.raises(TypeError, match="weight"):
        AttentionSettings()
    plain_guide, _ = train(tiny(recipes_for("smoke").scratch("plain4", 0)), split, log=quiet)
    with pytest.raises(ValueError, match="cannot compare"):  # a plain CNN's blocks do not pair with a ResNet's
        at = AttentionSettings(weight=1.0)
        train(tiny(SMOKE.distill("resnet8", recipes_for("smoke").scratch("plain4", 0), method=at)), split,
              guides=[plain_guide], log=quiet)


def test_a_new_method_plugs_in_without_touching_the_training_loop(split, monkeypatch):
    """Its settings (with a warm-up that reads the step's progress) and its loss, registered in one line."""

    @dataclass(frozen=True)
    class SmoothSettings(MethodSettings):
        name = "smooth"
        smoothing: float = 0.1
        warmup: float = 0.5  # the share of training over which the smoothing rises to its value

    seen = []

    class LabelSmoothing(Method):
        settings = SmoothSettings

        def loss_terms(self, step):
            ramp = min(step.progress.fraction / step.settings.warmup, 1.0)
            seen.append(ramp)
            with step.autocast():
                logits = step.model(step.x)
            return {"smoothed ce": F.cross_entropy(logits.float(), step.y,
                                                   label_smoothing=step.settings.smoothing * ramp)}

    monkeypatch.setitem(methods.METHODS, "smooth", LabelSmoothing())
    recipe = tiny(recipes_for("smoke").scratch("plain2", 0, method=SmoothSettings()))
    _, history = train(recipe, split, log=quiet)
    assert list(history["epochs"][0]["loss_terms"]) == ["smoothed ce"]
    assert seen[0] == 0.0 and seen == sorted(seen) and recipe.method.as_dict()["name"] == "smooth"
    assert recipe.address() != tiny(recipes_for("smoke").scratch("plain2", 0)).address()
    assert methods.recipe_from_dict(recipe.as_dict()) == recipe  # a store reads its recipe.json back
    with pytest.raises(ValueError, match="must be a method's settings"):
        recipes_for("smoke").scratch("plain2", 0, method="smooth")


@pytest.mark.parametrize("make, message", [
    (lambda: KDSettings(tau=0.0), "kd setting tau = 0.0 is not allowed: it must be a finite number > 0"),
    (lambda: KDSettings(tau=float("inf")), "tau = inf"),
    (lambda: KDSettings(lam=1.5), "lam = 1.5 is not allowed: it must be in \\[0, 1\\]"),
    (lambda: KDSettings(lam=float("nan")), "lam = nan"),
    (lambda: KDSettings(kl="mean"), "kl = 'mean'"),
    (lambda: DGKDSettings(drop="some"), "drop = 'some'"),
    (lambda: DGKDSettings(drop="bernoulli", keep_prob=0.0), "keep_prob = 0.0"),
    (lambda: DGKDSettings(keep_prob=0.5), "keep_prob = 0.5 .*not read"),  # set, but never read
    (lambda: DGKDSettings(drop_num=1), "drop_num = 1 .*not read"),
    (lambda: DGKDSettings(drop="fixed"), "drop_num = 0 .*>= 1"),
    (lambda: AttentionSettings(weight=-1000.0), "at setting weight = -1000.0"),
    (lambda: FSPSettings(weight=float("nan")), "fsp setting weight = nan"),
    (lambda: HintSettings(layers=(1, -1)), "hint setting layers"),
])
def test_every_setting_is_checked_when_made(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_settings_a_method_does_not_read_are_refused():
    with pytest.raises(TypeError, match="weight"):
        KDSettings(weight=5.0)
    with pytest.raises(TypeError, match="tau"):
        AttentionSettings(weight=1.0, tau=4.0)


def test_addresses_are_pinned_and_cover_the_method_and_its_settings():
    """A change here orphans every stored model (the stores before methods owned their settings are not reused).
    Pinned on the paper profile, whose design does not move with the cpu profile's."""
    assert recipes_for("paper").scratch("plain2", 20).address().startswith("84616ddc0a2ff1cb")
    assert recipes_for("paper").chain(["plain10", "plain4", "plain2"], 31).address().startswith("b46e1a69e6dda233")
    dgkd = recipes_for("gpu").dgkd(["plain10", "plain8", "plain4", "plain2"], 0)
    assert dgkd.address().startswith("234b89d8b5100e95")
    # a field added later (Optim.compile) is hashed only where set: the addresses above were made without it
    compiled = replace(dgkd, optim=replace(dgkd.optim, compile=True))
    assert compiled.address() != dgkd.address() and "compile" not in dgkd.as_dict()["optim"]
    head = recipes_for("cpu").teacher("resnet20", 0)
    same_weight = [recipes_for("cpu").distill("resnet8", head, method=s(weight=1.0)).address()
                   for s in (AttentionSettings, FSPSettings)]
    assert same_weight[0] != same_weight[1]  # the method's name is hashed with its settings
    kd = recipes_for("cpu").distill("resnet8", head)
    assert kd.address() != recipes_for("cpu").distill("resnet8", head, method=KDSettings(tau=5.0)).address()
    assert methods.recipe_from_dict(kd.as_dict()) == kd
    fit = recipes_for("cpu").fitnet("resnet14", recipes_for("cpu").teacher("plain10", 0), HintSettings(layers=(1, 2)))
    assert methods.recipe_from_dict(fit.as_dict()) == fit


# --- the rivals of a TA: label smoothing, DKD, DIST, each against its formula written out per image ------------

def _softmax(row, tau=1.0):
    import math

    e = [math.exp(v / tau) for v in row]
    return [x / sum(e) for x in e]


def _kl(p, q):
    import math

    return sum(a * math.log(a / b) for a, b in zip(p, q) if a > 0)


def _logits(seed=0, batch=5, classes=6):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, classes, generator=gen) * 2, torch.randn(batch, classes, generator=gen) * 2,
            torch.randint(0, classes, (batch,), generator=gen))


def test_label_smoothing_is_cross_entropy_on_smoothed_targets():
    import math

    student, _, y = _logits()
    eps, classes = 0.1, student.shape[1]
    expected = 0.0
    for row, label in zip(student.tolist(), y.tolist()):
        p = _softmax(row)
        q = [eps / classes + (1 - eps) * (c == label) for c in range(classes)]
        expected -= sum(qc * math.log(pc) for qc, pc in zip(q, p)) / len(y)
    got = F.cross_entropy(student, y, label_smoothing=eps)  # what LabelSmoothing computes
    assert float(got) == pytest.approx(expected, rel=1e-5)


def test_dkd_splits_kd_into_its_target_and_non_target_parts():
    from takdlib.methods.dkd import dkd_parts

    student, teacher, y = _logits(1)
    tau = 4.0
    tckd = nckd = 0.0
    for s_row, t_row, label in zip(student.tolist(), teacher.tolist(), y.tolist()):
        p_s, p_t = _softmax(s_row, tau), _softmax(t_row, tau)
        tckd += _kl([p_t[label], 1 - p_t[label]], [p_s[label], 1 - p_s[label]]) / len(y)
        others = [c for c in range(len(s_row)) if c != label]
        q_s = _softmax([s_row[c] for c in others], tau)
        q_t = _softmax([t_row[c] for c in others], tau)
        nckd += _kl(q_t, q_s) / len(y)
    got_t, got_n = dkd_parts(student, teacher, y, tau)
    assert float(got_t) == pytest.approx(tau ** 2 * tckd, rel=1e-4)
    assert float(got_n) == pytest.approx(tau ** 2 * nckd, rel=1e-4)
    # KD's KL is TCKD + (1 − p_t,target) · NCKD, per image (the paper's equation 3)
    one = slice(0, 1)
    kd = _kl(_softmax(teacher[0].tolist(), tau), _softmax(student[0].tolist(), tau)) * tau ** 2
    t1, n1 = dkd_parts(student[one], teacher[one], y[one], tau)
    assert kd == pytest.approx(float(t1) + (1 - _softmax(teacher[0].tolist(), tau)[int(y[0])]) * float(n1), rel=1e-4)


def test_dist_is_one_minus_pearson_over_images_and_over_classes():
    from takdlib.methods.dist import dist_parts

    def pearson(a, b):
        ma, mb = sum(a) / len(a), sum(b) / len(b)
        cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
        return cov / (sum((x - ma) ** 2 for x in a) ** 0.5 * sum((y - mb) ** 2 for y in b) ** 0.5)

    student, teacher, _ = _logits(2)
    tau = 2.0
    p_s = [_softmax(r, tau) for r in student.tolist()]
    p_t = [_softmax(r, tau) for r in teacher.tolist()]
    inter = 1 - sum(pearson(a, b) for a, b in zip(p_s, p_t)) / len(p_s)
    columns = lambda p: [list(c) for c in zip(*p)]  # noqa: E731
    intra = 1 - sum(pearson(a, b) for a, b in zip(columns(p_s), columns(p_t))) / len(p_s[0])
    got_inter, got_intra = dist_parts(student, teacher, tau)
    assert float(got_inter) == pytest.approx(inter, rel=1e-4) and float(got_intra) == pytest.approx(intra, rel=1e-4)
    assert float(dist_parts(teacher, teacher, tau)[0]) == pytest.approx(0.0, abs=1e-6)  # a perfect mimic: no loss


def test_the_rivals_train_through_the_store_with_their_terms(tmp_path, jpeg_archive, monkeypatch):
    from takdlib.store import Store

    monkeypatch.setenv("TAKD_CACHE", str(tmp_path / "cache"))
    store = Store(tmp_path / "store", jpeg_archive, log=lambda _: None)
    R = recipes_for("smoke")
    teacher = tiny(R.teacher("plain4", 0))
    rivals = {"smoothed ce": tiny(R.scratch("plain2", 0, method=LabelSmoothingSettings())),
              "nckd": tiny(R.distill("plain2", teacher, method=DKDSettings())),
              "intra": tiny(R.distill("plain2", teacher, method=DISTSettings(tau=4.0)))}
    for term, recipe in rivals.items():
        history = store.get(recipe).history
        assert term in history["epochs"][-1]["loss_terms"], (recipe.describe(), history["epochs"][-1])
    dkd_terms = store.get(rivals["nckd"]).history["epochs"][0]["loss_terms"]
    assert set(dkd_terms) == {"ce", "tckd", "nckd"}


@pytest.mark.parametrize("make, message", [
    (lambda: LabelSmoothingSettings(smoothing=1.0), "smoothing = 1.0"),
    (lambda: DKDSettings(beta=-1.0), "dkd setting beta = -1.0"),
    (lambda: DKDSettings(warmup=2.0), "warmup = 2.0"),
    (lambda: DISTSettings(tau=float("nan")), "dist setting tau = nan"),
])
def test_the_rivals_settings_are_checked(make, message):
    with pytest.raises(ValueError, match=message):
        make()
