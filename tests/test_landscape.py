"""takdlib.landscape, and the loss-landscapes 3.0.6 defects it works around (each pinned here, so a
release that fixes one makes its test fail and tells us to use the package again)."""
import copy

import pytest
import torch
from loss_landscapes import linear_interpolation, random_plane
from loss_landscapes.metrics.metric import Metric
from loss_landscapes.model_interface.model_parameters import ModelParameters, rand_u_like
from torch import nn

from takdlib.landscape import (LossAndAccuracy, filter_normalized_direction, frozen_copy, interpolate, plane,
                               sharpness, spread_batches)
from takdlib.models import build_model


@pytest.fixture(scope="module")
def batches():
    g = torch.Generator().manual_seed(0)
    return [(torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8, generator=g), torch.randint(0, 10, (16,), generator=g))]


# --- defects of loss-landscapes 3.0.6 -----------------------------------------------------------

def test_defect_random_directions_are_uniform_and_positive():
    torch.manual_seed(0)
    d = rand_u_like(ModelParameters([torch.zeros(1000)]))
    assert d[0].min() >= 0 and d[0].max() < 1  # not Gaussian, never negative


class DistanceFromStart(Metric):
    """||theta - theta_0||^2: a ruler in parameter space."""

    def __init__(self, model):
        super().__init__()
        self.origin = [p.detach().clone() for p in model.parameters()]

    def __call__(self, wrapper):
        return sum(((p - o) ** 2).sum().item() for p, o in zip(wrapper.get_module_parameters(), self.origin))


def linear(n=50):
    torch.manual_seed(0)
    model = nn.Linear(n, 1, bias=False)
    model.weight.data.fill_(1.0)
    return model


def test_defect_directions_are_made_on_the_cpu_whatever_the_model_device():
    d = rand_u_like(ModelParameters([torch.zeros(3, device="meta")]))
    assert d[0].device.type == "cpu"


def test_defect_distance_is_inverted():
    # a larger `distance` should span a larger region; 3.0.6 divides by it, so the span shrinks
    model = linear()
    span = {d: random_plane(model, DistanceFromStart(model), distance=d, steps=4, normalization=None,
                            deepcopy_model=True).max() for d in (1.0, 10.0)}
    assert span[10.0] < span[1.0] / 50


def test_defect_odd_rows_are_shifted_by_one_step():
    # ||a d1 + b d2||^2 is smallest at b = 0 in every row of a correct grid; in 3.0.6 the even rows
    # reach b = 0 one column before the odd rows
    model = linear()
    grid = random_plane(model, DistanceFromStart(model), distance=1, steps=6, normalization=None, deepcopy_model=True)
    argmins = grid.argmin(axis=1)
    assert argmins[0] == argmins[2] == argmins[4]
    assert argmins[1] == argmins[3] == argmins[5] == argmins[0] + 1


def test_defect_model_modified_in_place_and_loses_requires_grad():
    model = linear()
    random_plane(model, DistanceFromStart(model), distance=1, steps=3, normalization=None)  # deepcopy_model=False
    assert not torch.all(model.weight == 1.0)
    assert not model.weight.requires_grad


def test_defect_filter_normalisation_of_1d_tensors_is_elementwise_and_divides_by_zero():
    # Li et al. treat a 1-D tensor as one filter (or zero it); 3.0.6 copies |ref| element by element
    d = ModelParameters([torch.tensor([1.0, 1.0, 1.0])])
    d.filter_normalize_(ModelParameters([torch.tensor([3.0, 0.0, 4.0])]))
    assert torch.equal(d[0], torch.tensor([3.0, 0.0, 4.0]))
    with pytest.raises(ZeroDivisionError):
        ModelParameters([torch.tensor([1.0, 1.0])]).filter_normalize_(ModelParameters([torch.zeros(2)]))


def test_defect_batchnorm_statistics_are_overwritten():
    model = build_model("plain2")  # train mode, as a freshly loaded model may well be
    before = model.blocks[0][1].running_mean.clone()
    x = torch.randn(8, 3, 32, 32)

    class Loss(Metric):
        def __call__(self, wrapper):
            return wrapper.forward(x).sum().item()

    random_plane(model, Loss(), distance=1, steps=2, normalization="layer")
    assert not torch.equal(model.blocks[0][1].running_mean, before)  # nothing switched it to eval mode


# --- takdlib.landscape --------------------------------------------------------------------------

def test_direction_is_filter_normalised_gaussian_with_zero_biases():
    model = build_model("plain4")
    d = filter_normalized_direction(model, torch.Generator().manual_seed(0))
    for p, q in zip(model.parameters(), d):
        if p.dim() <= 1:
            assert torch.count_nonzero(q) == 0
        else:
            assert torch.allclose(q.flatten(1).norm(dim=1), p.flatten(1).norm(dim=1), rtol=1e-4)
            assert (q < 0).any()  # Gaussian, both signs


def test_plane_is_centred_on_the_model_and_leaves_it_alone(batches):
    model = build_model("plain2").eval()
    state = copy.deepcopy(model.state_dict())
    metric = LossAndAccuracy(batches, input_std=1.0)
    surface = plane(model, metric, seed=0, extent=1.0, steps=5)
    assert surface["loss"].shape == (5, 5) and surface["coords"][2] == 0
    assert surface["loss"][2, 2] == pytest.approx(metric(frozen_copy(model))[0], rel=1e-5)
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert all(p.requires_grad for p in model.parameters())
    assert surface["loss"].std() > 0


def two_students():
    """Two plain2 models that differ in weights *and* BatchNorm running statistics."""
    a = build_model("plain2").eval()
    b = copy.deepcopy(a)
    with torch.no_grad():
        for p in b.parameters():
            p.add_(0.05 * torch.randn_like(p))
        for name, buf in b.named_buffers():
            if name.endswith("running_mean"):
                buf.add_(0.5)
    return a, b


def test_sharpness_and_interpolation_endpoints(batches):
    metric = LossAndAccuracy(batches, input_std=1.0)
    a, b = two_students()
    line = interpolate(a, b, metric, steps=4)
    assert line["t"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert line["loss"][0] == pytest.approx(metric(frozen_copy(a))[0], rel=1e-5)
    assert line["loss"][-1] == pytest.approx(metric(frozen_copy(b))[0], rel=1e-4)
    assert line["acc"][-1] == pytest.approx(metric(frozen_copy(b))[1])
    s = sharpness(a, metric, seed=0, radius=0.5, directions=2)
    assert set(s) == {"base_loss", "rise_mean", "rise_sd", "radius", "directions"}


def test_defect_linear_interpolation_keeps_the_start_models_batchnorm_statistics(batches):
    metric = LossAndAccuracy(batches, input_std=1.0)
    a, b = two_students()
    end = linear_interpolation(frozen_copy(a), frozen_copy(b), metric, steps=4)[-1]
    b_weights_a_stats = copy.deepcopy(b)
    b_weights_a_stats.load_state_dict({**b.state_dict(), **dict(a.named_buffers())})
    assert end[0] == pytest.approx(metric(frozen_copy(b_weights_a_stats))[0], rel=1e-4)
    assert end[0] != pytest.approx(metric(frozen_copy(b))[0], rel=1e-3)


def test_spread_batches_cover_every_class_of_a_class_sorted_split():
    y = torch.arange(10).repeat_interleave(50)            # 500 labels sorted by class, as a stratified split is
    x = torch.arange(500).view(500, 1, 1, 1).expand(500, 3, 32, 32)
    batches = spread_batches(x, y, n=200, batch_size=64)
    labels = torch.cat([b[1] for b in batches])
    assert [len(b[1]) for b in batches] == [64, 64, 64, 8]
    assert torch.bincount(labels, minlength=10).tolist() == [20] * 10
    assert torch.equal(torch.cat([b[0][:, 0, 0, 0] for b in batches]).unique(), torch.cat([b[0][:, 0, 0, 0] for b in batches]))
    assert sum(len(b[1]) for b in spread_batches(x, y, n=10_000)) == len(x)   # never more than there is
