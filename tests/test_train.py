import math

import pytest
import torch

from takdlib.data import load_arrays, make_split
from takdlib.recipes import Optim, chain, dgkd, fitnet, scratch, with_data
from takdlib.train import TrainingDiverged, lr_at, summarize, train


@pytest.fixture(scope="module")
def split(jpeg_archive, tmp_path_factory):
    arrays = load_arrays("cifar10", jpeg_archive, tmp_path_factory.mktemp("cache"))
    return make_split(arrays, train_per_class=3, val_per_class=1)


def tiny(recipe):
    return with_data(recipe, train_per_class=3, val_per_class=1, test_per_class=None)


def quiet(_):
    pass


def test_same_seed_gives_bitwise_identical_weights(split):
    r = tiny(scratch("plain4", "smoke", 7))
    a, _ = train(r, split, log=quiet)
    b, _ = train(r, split, log=quiet)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    c, _ = train(tiny(scratch("plain4", "smoke", 8)), split, log=quiet)
    assert not all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), c.state_dict().values()))


def test_history_has_one_entry_per_epoch_and_three_named_accuracies(split):
    _, history = train(tiny(scratch("plain2", "smoke", 0)), split, log=quiet)
    (epoch,) = history["epochs"]
    assert set(epoch) == {"epoch", "lr", "train_loss", "val_acc", "test_acc", "test_loss", "seconds"}
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
    r = tiny(scratch("plain2", "smoke", 0))
    model, _ = train(r, split, log=quiet)
    poisoned = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    with pytest.raises(TrainingDiverged, match="epoch 1 of plain2 seed 0 smoke"):
        train(r, split, init_state=poisoned, log=quiet)


def test_guides_are_frozen_and_untouched(split):
    teacher_recipe = tiny(scratch("plain4", "smoke", 0))
    teacher, _ = train(teacher_recipe, split, log=quiet)
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    for recipe in [tiny(chain(["plain4", "plain2"], "smoke", 0)),
                   tiny(dgkd(["plain4", "plain4", "plain2"], "smoke", 0, drop="bernoulli")),
                   tiny(fitnet("resnet8", scratch("plain4", "smoke", 0), hint_layers=(1, 1)).init)]:
        guides = [teacher] * len(recipe.guides)
        student, history = train(recipe, split, guides, log=quiet)
        assert math.isfinite(history["epochs"][-1]["train_loss"])
        assert all(torch.equal(before[k], v) for k, v in teacher.state_dict().items())
        assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
