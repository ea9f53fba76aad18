"""Loss landscapes in the style of Li et al. (2018), built on the `loss-landscapes` package.

From the package we use what is correct: its model wrapper, its parameter-vector arithmetic
(`ModelParameters`) and its `Metric` interface. Direction sampling, the 2-D grid and the 1-D line live
here because loss-landscapes 3.0.6 gets them wrong (uniform [0, 1) directions, inverted `distance`,
shifted odd rows, element-wise "filter" normalisation of 1-D tensors, no eval mode, and a line that moves
parameters but not BatchNorm statistics); the tests in tests/test_landscape.py pin each of those
defects so a fixed release is noticed.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from loss_landscapes.metrics.metric import Metric
from loss_landscapes.model_interface.model_parameters import ModelParameters
from loss_landscapes.model_interface.model_wrapper import ModelWrapper, wrap_model
from torch import nn

from .data import EVAL_BATCH, normalize


class LossAndAccuracy(Metric):
    """Mean cross-entropy and accuracy (%) of the wrapped model over fixed batches.

    batches: list of (uint8 images (B, 3, 32, 32), labels (B,)); evaluated in float32 under no_grad, inputs
    normalised as the models were trained (input_std: the recipes' data.input_std).
    """

    def __init__(self, batches: list[tuple[torch.Tensor, torch.Tensor]], input_std: float):
        super().__init__()
        self.batches = batches
        self.input_std = input_std

    @torch.no_grad()
    def __call__(self, model_wrapper: ModelWrapper) -> tuple[float, float]:
        loss_sum, correct, n = 0.0, 0, 0
        for x, y in self.batches:
            logits = model_wrapper.forward(normalize(x, self.input_std)).float()
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            n += len(y)
        return loss_sum / n, 100.0 * correct / n


def spread_batches(x: torch.Tensor, y: torch.Tensor, n: int, batch_size: int = EVAL_BATCH) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """n images taken at evenly spaced positions of x (N, 3, 32, 32) and y (N,), in batches: a fixed set
    that covers every class even when the split is ordered by class (as a stratified split is)."""
    idx = torch.linspace(0, len(x) - 1, min(n, len(x))).round().long()
    return [(x[idx[i:i + batch_size]], y[idx[i:i + batch_size]]) for i in range(0, len(idx), batch_size)]


def frozen_copy(model: nn.Module) -> ModelWrapper:
    """A deep copy in eval mode (BatchNorm uses its running statistics, which nothing overwrites)."""
    return wrap_model(copy.deepcopy(model).eval())


def filter_normalized_direction(model: nn.Module, generator: torch.Generator) -> ModelParameters:
    """Gaussian direction, each filter (slice along dim 0) rescaled to the norm of the same filter in the
    model; 1-D parameters (biases, BatchNorm) get zero, as in Li et al. (2018)."""
    parts = []
    for p in model.parameters():
        if p.dim() <= 1:
            parts.append(torch.zeros_like(p))
            continue
        d = torch.randn(p.shape, generator=generator, dtype=p.dtype, device="cpu").to(p.device)
        d_norm = d.flatten(1).norm(dim=1).clamp_min(1e-12)
        p_norm = p.detach().flatten(1).norm(dim=1)
        parts.append(d * (p_norm / d_norm).view(-1, *[1] * (p.dim() - 1)))
    return ModelParameters(parts)


def _set(wrapper: ModelWrapper, point: ModelParameters) -> None:
    for live, value in zip(wrapper.get_module_parameters(), point):
        live.copy_(value)


def plane(model: nn.Module, metric: Metric, seed: int, extent: float = 1.0, steps: int = 21) -> dict:
    """Evaluate `metric` on the grid theta + a*d1 + b*d2, a, b in linspace(-extent, extent, steps).

    Returns {"coords": (steps,), "loss": (steps, steps), "acc": (steps, steps)}, indexed [a, b];
    the model passed in is not modified.
    """
    wrapper = frozen_copy(model)
    origin = ModelParameters([p.detach().clone() for p in wrapper.get_module_parameters()])
    gen = torch.Generator().manual_seed(seed)
    d1 = filter_normalized_direction(wrapper.modules[0], gen)
    d2 = filter_normalized_direction(wrapper.modules[0], gen)
    coords = np.linspace(-extent, extent, steps)
    loss = np.zeros((steps, steps))
    acc = np.zeros((steps, steps))
    for i, a in enumerate(coords):
        for j, b in enumerate(coords):
            _set(wrapper, origin + d1 * float(a) + d2 * float(b))
            loss[i, j], acc[i, j] = metric(wrapper)
    return {"coords": coords, "loss": loss, "acc": acc}


def sharpness(model: nn.Module, metric: Metric, seed: int, radius: float = 0.5, directions: int = 8) -> dict:
    """Mean (and sd) loss increase at normalised distance `radius` along random filter-normalised
    directions, both signs: a flatness number (smaller is flatter)."""
    wrapper = frozen_copy(model)
    origin = ModelParameters([p.detach().clone() for p in wrapper.get_module_parameters()])
    base, _ = metric(wrapper)
    gen = torch.Generator().manual_seed(seed)
    rises = []
    for _ in range(directions):
        d = filter_normalized_direction(wrapper.modules[0], gen)
        for sign in (1.0, -1.0):
            _set(wrapper, origin + d * (sign * radius))
            rises.append(metric(wrapper)[0] - base)
    return {"base_loss": base, "rise_mean": float(np.mean(rises)), "rise_sd": float(np.std(rises, ddof=1)),
            "radius": radius, "directions": directions}


def interpolate(model_a: nn.Module, model_b: nn.Module, metric: Metric, steps: int = 20) -> dict:
    """Loss and accuracy at model_a + t·(model_b − model_a), t in linspace(0, 1, steps + 1), eval mode.

    Parameters and BatchNorm running statistics move together, so t = 1 is model_b itself. (The package's
    `linear_interpolation` moves parameters only: model_b's weights under model_a's statistics at t = 1.)
    Returns {"t": (steps + 1,), "loss": (steps + 1,), "acc": (steps + 1,)}.
    """
    wrapper = frozen_copy(model_a)
    start = ModelParameters([p.detach().clone() for p in wrapper.get_module_parameters()])
    end = ModelParameters([p.detach().clone() for p in model_b.parameters()])
    b_buffers = dict(model_b.named_buffers())
    buffers = [(live, live.clone(), b_buffers[name].to(live.dtype)) for name, live in wrapper.modules[0].named_buffers()
               if live.is_floating_point()]
    ts = np.linspace(0, 1, steps + 1)
    values = []
    for t in ts:
        _set(wrapper, start + (end - start) * float(t))
        with torch.no_grad():
            for live, a, b in buffers:
                live.copy_(torch.lerp(a, b, float(t)))
        values.append(metric(wrapper))
    values = np.asarray(values)
    return {"t": ts, "loss": values[:, 0], "acc": values[:, 1]}
