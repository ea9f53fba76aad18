import math
from dataclasses import replace

import pytest
import torch

from takdlib.data import Split, load_arrays, make_split
from takdlib.recipes import Optim, with_data
from takdlib.profiles import recipes_for
from takdlib.train import (TrainingDiverged, fixed_guide_targets, has_fixed_guide_targets, lr_at, predict,
                           shares_guide_logits, summarize, train)
from takdlib.methods import AttentionSettings, DGKDSettings, FSPSettings, HintSettings, get_method
from conftest import tiny


@pytest.fixture(scope="module")
def split(jpeg_archive, tmp_path_factory):
    arrays = load_arrays("cifar10", jpeg_archive, tmp_path_factory.mktemp("cache"))
    return make_split(arrays, train_per_class=3, val_per_class=1)


def quiet(_):
    pass


def test_same_seed_gives_bitwise_identical_weights(split):
    r = tiny(recipes_for("smoke").scratch("plain4", 7))
    a, _ = train(r, split, log=quiet)
    b, _ = train(r, split, log=quiet)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    c, _ = train(tiny(recipes_for("smoke").scratch("plain4", 8)), split, log=quiet)
    assert not all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), c.state_dict().values()))


def test_history_has_one_entry_per_epoch_and_three_named_accuracies(split):
    recipe = tiny(recipes_for("smoke").scratch("plain2", 0))
    _, history = train(recipe, split, log=quiet)
    assert len(history["epochs"]) == recipe.optim.epochs
    epoch = history["epochs"][-1]
    assert set(epoch) == {"epoch", "lr", "train_loss", "loss_terms", "val_acc", "test_acc", "test_loss", "seconds"}
    assert list(epoch["loss_terms"]) == ["ce"] and epoch["loss_terms"]["ce"] == pytest.approx(epoch["train_loss"])
    assert set(history["summary"]) == {"final_test_acc", "val_selected_test_acc", "best_test_acc", "train_seconds"}


def test_summary_separates_final_validation_selected_and_best_test():
    h = [dict(val_acc=50, test_acc=40, seconds=1), dict(val_acc=60, test_acc=45, seconds=1),
         dict(val_acc=55, test_acc=48, seconds=1), dict(val_acc=52, test_acc=47, seconds=1)]
    s = summarize(h)
    assert (s["final_test_acc"], s["val_selected_test_acc"], s["best_test_acc"]) == (47, 45, 48)
    nan = [dict(h[0], val_acc=float("nan"))]
    assert summarize(nan)["val_selected_test_acc"] is None


def test_learning_rate_schedules():
    const = Optim(epochs=10, lr=0.01)
    assert lr_at(const, 0.9) == 0.01
    step = Optim(epochs=10, lr=0.1, schedule="step")
    assert [lr_at(step, p) for p in (0.1, 0.6, 0.8)] == pytest.approx([0.1, 0.01, 0.001])
    # the TAKD code's bug: its 0.1 phase never runs
    bug = Optim(epochs=10, lr=0.1, schedule="takd_code")
    assert [lr_at(bug, p) for p in (0.0, 0.6, 0.8)] == pytest.approx([0.01, 0.01, 0.001])
    one = Optim(epochs=10, lr=0.05, schedule="onecycle")
    assert lr_at(one, 0.0) == 0 and lr_at(one, 0.2) == pytest.approx(0.05) and lr_at(one, 0.99) < 0.001


def test_nan_loss_stops_with_the_epoch_and_the_recipe(split):
    r = tiny(recipes_for("smoke").scratch("plain2", 0))
    model, _ = train(r, split, log=quiet)
    poisoned = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    with pytest.raises(TrainingDiverged, match="epoch 1 of plain2 seed 0 smoke"):
        train(r, split, init_state=poisoned, log=quiet)


def test_guides_are_frozen_and_untouched(split):
    teacher_recipe = tiny(recipes_for("smoke").scratch("plain4", 0))
    teacher, _ = train(teacher_recipe, split, log=quiet)
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    for recipe in [tiny(recipes_for("smoke").chain(["plain4", "plain2"], 0)),
                   tiny(recipes_for("smoke").dgkd(["plain4", "plain4", "plain2"], 0, DGKDSettings(drop="bernoulli", keep_prob=0.75))),
                   tiny(recipes_for("smoke").fitnet("resnet8", recipes_for("smoke").scratch("plain4", 0), HintSettings(layers=(1, 1))).init)]:
        guides = [teacher] * len(recipe.guides)
        student, history = train(recipe, split, guides, log=quiet)
        assert math.isfinite(history["epochs"][-1]["train_loss"])
        assert all(torch.equal(before[k], v) for k, v in teacher.state_dict().items())
        assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())


def learnable_split(n_per_class: int, seed: int = 0) -> Split:
    """Images whose brightness encodes the class (plus noise): a net learns them within a few steps."""
    g = torch.Generator().manual_seed(seed)

    def make(n):
        y = torch.arange(10).repeat_interleave(n)
        x = (y.view(-1, 1, 1, 1) * 25 + torch.randint(0, 40, (len(y), 3, 32, 32), generator=g)).clamp(0, 255)
        return x.to(torch.uint8), y

    (tx, ty), (vx, vy), (sx, sy) = make(n_per_class), make(2), make(4)
    return Split(tx, ty, vx, vy, sx, sy, num_classes=10, input_std=1.0)


def test_scoring_the_test_set_only_at_the_end_keeps_final_and_validation_selected():
    split = learnable_split(8)
    every = recipes_for("smoke").scratch("plain2", 0)
    # a constant learning rate on 20 validation images: validation accuracy jumps around, so the best epoch is not the last
    every = replace(every, data=replace(every.data, augment=True),
                    optim=replace(every.optim, epochs=6, batch_size=8, lr=0.01, schedule="constant", precision="bf16",
                                  test_every_epoch=True))
    at_end = replace(every, optim=replace(every.optim, test_every_epoch=False))
    _, h_every = train(every, split, log=quiet)
    _, h_end = train(at_end, split, log=quiet)
    # scoring does not touch the random streams, so both runs train the same weights
    assert [h["train_loss"] for h in h_every["epochs"]] == [h["train_loss"] for h in h_end["epochs"]]
    vals = [h["val_acc"] for h in h_end["epochs"]]
    selected = max(range(len(vals)), key=lambda i: (vals[i], i))
    assert selected < len(vals) - 1, vals  # the kept copy of the best epoch's weights is what gets scored
    scored = {i for i, h in enumerate(h_end["epochs"]) if h["test_acc"] is not None}
    assert scored == {selected, len(vals) - 1}
    s_every, s_end = h_every["summary"], h_end["summary"]
    assert s_end["final_test_acc"] == s_every["final_test_acc"]
    assert s_end["val_selected_test_acc"] == s_every["val_selected_test_acc"]
    assert s_every["best_test_acc"] is not None and s_end["best_test_acc"] is None


def test_guide_logits_are_computed_once_only_when_the_images_never_change(split):
    teacher, _ = train(tiny(recipes_for("smoke").scratch("plain4", 0)), split, log=quiet)
    kd = with_data(tiny(recipes_for("smoke").chain(["plain4", "plain2"], 0)), augment=False)
    cached = fixed_guide_targets(kd, [teacher], split.train_x)
    assert cached is not None and cached[0].shape == (len(split.train_x), 10)
    live = predict(teacher, split.train_x[:7], split.input_std, batch_size=3)  # other batch sizes: the same logits up to bf16
    assert torch.allclose(cached[0][:7], live, atol=0.05, rtol=0.02)
    assert fixed_guide_targets(with_data(kd, augment=True), [teacher], split.train_x) is None
    assert fixed_guide_targets(tiny(recipes_for("smoke").scratch("plain2", 0)), [], split.train_x) is None
    hint = tiny(recipes_for("smoke").fitnet("resnet8", recipes_for("smoke").scratch("plain4", 0), HintSettings(layers=(1, 1))).init)
    assert fixed_guide_targets(hint, [teacher], split.train_x) is None


@pytest.mark.parametrize("settings", [AttentionSettings(weight=1000.0), FSPSettings(weight=1.0)], ids=["at", "fsp"])
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_feature_distance_learns_from_fixed_teacher_targets_as_from_its_features_at_each_step(
        split, settings, precision, monkeypatch):
    """AT's maps and FSP's matrices of the teacher, computed once per training image where the images are never
    augmented, train the student as the teacher's forward at every step did (its batches of other sizes round
    alike here); they are the method's own, not shared with the students that take the teacher's logits."""
    head = tiny(recipes_for("smoke").scratch("resnet14", 0))
    teacher, _ = train(head, split, log=quiet)
    student = tiny(recipes_for("smoke").distill("resnet8", head, method=settings), epochs=2)
    # batches of 8 in training against the precomputing pass's one of 30: other sizes, other companions
    student = replace(student, optim=replace(student.optim, precision=precision, batch_size=8))
    assert has_fixed_guide_targets(student) and not shares_guide_logits(student)
    assert fixed_guide_targets(student, [teacher], split.train_x)[0].shape[0] == len(split.train_x)
    with pytest.raises(ValueError, match=f"{settings.name} takes no fixed logits"):  # the store's shared logits
        train(student, split, guides=[teacher], guide_logits=[torch.zeros(len(split.train_x), 10)], log=quiet)
    fixed, history = train(student, split, guides=[teacher], log=quiet)
    monkeypatch.setattr(type(get_method(settings.name)), "fixed_guide_targets", False)  # the forward at each step
    assert not has_fixed_guide_targets(student)
    live, live_history = train(student, split, guides=[teacher], log=quiet)
    assert [h["loss_terms"] for h in history["epochs"]] == [h["loss_terms"] for h in live_history["epochs"]]
    for (name, a), b in zip(fixed.state_dict().items(), live.state_dict().values()):
        assert torch.equal(a, b), name


def test_fp16_trains_with_a_gradient_scaler_and_resumes_bitwise(split, tmp_path):
    """The path a GPU without bf16 takes (profile gpu_fp16), forced here on the CPU."""
    recipe = tiny(recipes_for("smoke").scratch("plain2", 0))
    recipe = replace(recipe, optim=replace(recipe.optim, precision="fp16", epochs=2))
    model, history = train(recipe, split, log=quiet)
    assert all(math.isfinite(h["train_loss"]) for h in history["epochs"])
    bf16 = replace(recipe, optim=replace(recipe.optim, precision="bf16"))
    other, _ = train(bf16, split, log=quiet)
    assert not all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values()))
    # a resume point carries the scaler's state, so a run stopped after its first epoch and resumed ends
    # with the weights of the uninterrupted run
    class Stop(Exception):
        pass

    def stop(_line):
        raise Stop

    checkpoint = tmp_path / "resume.pt"
    with pytest.raises(Stop):
        train(recipe, split, checkpoint=checkpoint, log=quiet, epoch_log=stop)
    assert "scaler" in torch.load(checkpoint, weights_only=False)
    resumed, _ = train(recipe, split, checkpoint=checkpoint, log=quiet)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), resumed.state_dict().values()))


def test_the_history_logs_each_loss_term_and_they_sum_to_the_training_loss(split):
    teacher, _ = train(tiny(recipes_for("smoke").scratch("plain4", 0)), split, log=quiet)
    for recipe, names in [(tiny(recipes_for("smoke").chain(["plain4", "plain2"], 0)), ["ce", "kd"]),
                          (tiny(recipes_for("smoke").dgkd(["plain4", "plain4", "plain2"], 0)),
                           ["guide 0", "guide 1"])]:
        _, history = train(recipe, split, guides=[teacher] * len(recipe.guides), log=quiet)
        for epoch in history["epochs"]:
            assert sorted(epoch["loss_terms"]) == names
            assert sum(epoch["loss_terms"].values()) == pytest.approx(epoch["train_loss"], rel=1e-5)


def test_a_split_normalised_otherwise_than_the_recipe_is_refused(split):
    recipe = tiny(recipes_for("paper").scratch("plain2", 20))  # the paper's text: inputs at std 0.5
    with pytest.raises(ValueError, match="normalised to std 0.5, but the split given is normalised to 1.0"):
        train(recipe, split, log=quiet)


def test_an_early_stopped_model_is_the_whole_runs_model_after_that_epoch(split, tmp_path):
    """Stopped after epoch 1 of 3, then resumed from its resume point as the whole run: the weights of the
    whole run from scratch, bitwise. The learning rates of the stopped run are the whole schedule's."""
    from takdlib.recipes import early_stopped

    full = tiny(recipes_for("smoke").scratch("plain2", 0), epochs=3)
    stopped = early_stopped(full, 1)
    assert stopped.address() != full.address() and "stopped after epoch 1 of 3" in stopped.describe()
    checkpoint = tmp_path / "partial.pt"
    _, history = train(stopped, split, checkpoint=checkpoint, log=lambda _: None)
    assert len(history["epochs"]) == 1
    resumed, _ = train(full, split, checkpoint=checkpoint, log=lambda _: None)
    alone, alone_history = train(full, split, log=lambda _: None)
    assert history["epochs"][0]["lr"] == alone_history["epochs"][0]["lr"]
    assert all(torch.equal(a, b) for a, b in zip(resumed.state_dict().values(), alone.state_dict().values()))
    with pytest.raises(ValueError, match="optim.stop_after"):
        early_stopped(full, 3)


def test_a_compiled_step_trains_the_eager_model_to_rounding_and_counts_its_compile_time(split, tmp_path,
                                                                                         monkeypatch):
    monkeypatch.setenv("TAKD_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    recipe = tiny(recipes_for("smoke").scratch("plain2", 0))  # the cheapest to compile; ResNets compile alike
    recipe = replace(recipe, optim=replace(recipe.optim, batch_size=10))  # three steps: the first one compiles
    eager, eager_history = train(recipe, split, log=quiet)
    fast = replace(recipe, optim=replace(recipe.optim, compile=True))
    assert fast.address() != recipe.address()  # other kernels, other rounding: another model
    model, history = train(fast, split, log=quiet)
    for (name, a), b in zip(eager.state_dict().items(), model.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), rtol=1e-3, atol=1e-4), name  # same names: no wrapper's prefix
    assert history["summary"]["compile_seconds"] > 0 and "compile_seconds" not in eager_history["summary"]
    assert (tmp_path / "cache" / "inductor-cpu").is_dir()  # inductor's caches under the project's cache folder


def test_compile_seconds_are_the_steps_time_beyond_the_median_step():
    from takdlib.train import compile_seconds

    assert compile_seconds([20.0, 0.1, 0.1, 0.1, 3.1]) == pytest.approx(19.9 + 3.0)
    assert compile_seconds([0.1, 0.1]) == 0.0 and compile_seconds([]) == 0.0
