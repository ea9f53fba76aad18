"""The plain CNNs' 3x3 convolution, with the weight gradient on small maps computed as one matmul.

On a CPU, oneDNN's backward-weights kernel for a 3x3 convolution over a small map (4 x 4 in plain8 and plain10)
is several times slower than its forward pass; the same gradient as one matrix product of the output gradient
with the input's 3x3 patches is faster there (benchmarks/weight_grad.py measures both per layer shape and
precision, and sets `MATMUL_WEIGHT_GRAD`). The forward pass and the input gradient stay oneDNN's; the
weight gradient is the same sum in another order, so it differs from autograd's at rounding only
(tests/test_models.py).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# where the matmul weight gradient is used, per compute dtype: (largest map side in pixels, fewest input
# channels), the layers of the plain CNNs at which benchmarks/weight_grad.py found it faster than oneDNN's
# kernel (bf16 on a 2-core Xeon with AMX: 2.6-4.2x at 4 x 4, 1.1-1.6x at 8 x 8 from 64 channels; slower on
# larger maps, and in fp32 no faster anywhere, so fp32 keeps oneDNN's)
MATMUL_WEIGHT_GRAD = {torch.bfloat16: (8, 64)}


def uses_matmul_weight_grad(in_ch: int, side: int, dtype: torch.dtype) -> bool:
    """Whether a 3x3 convolution with `in_ch` input channels on a `side` x `side` map computes its weight
    gradient as a matmul when its step computes in `dtype`."""
    largest_side, fewest_channels = MATMUL_WEIGHT_GRAD.get(dtype, (0, 0))
    return side <= largest_side and in_ch >= fewest_channels


def patches(x: torch.Tensor) -> torch.Tensor:
    """The 3x3 patches of x (B, C, H, W) padded by 1, as rows: (B * H * W, 9 * C), each row the nine shifted
    pixels' channels in (3, 3, C) order. Built from nine shifted copies of whole channel vectors (channels-last),
    which is many times faster than gathering (C, 3, 3) blocks."""
    b, c, h, w = x.shape
    padded = F.pad(x.permute(0, 2, 3, 1), (0, 0, 1, 1, 1, 1))  # (B, H + 2, W + 2, C)
    shifted = [padded[:, i:i + h, j:j + w, :] for i in range(3) for j in range(3)]
    return torch.stack(shifted, dim=3).reshape(b * h * w, 9 * c)


class _MatmulWeightGrad(torch.autograd.Function):
    """conv2d(x, weight, bias, padding=1) in `dtype`; its backward: the input gradient by oneDNN, the weight
    gradient as (output gradient)^T @ patches(x)."""

    @staticmethod
    def forward(ctx, x, weight, bias, dtype):
        xc, wc = x.to(dtype), weight.to(dtype)
        ctx.save_for_backward(xc, wc)
        ctx.dtypes = (x.dtype, weight.dtype, None if bias is None else bias.dtype)
        with torch.autocast("cpu", enabled=False):
            return F.conv2d(xc, wc, None if bias is None else bias.to(dtype), padding=1)

    @staticmethod
    def backward(ctx, grad_out):
        xc, wc = ctx.saved_tensors
        x_dtype, w_dtype, b_dtype = ctx.dtypes
        g = grad_out.to(xc.dtype)
        grad_x = grad_w = grad_b = None
        with torch.autocast("cpu", enabled=False):
            if ctx.needs_input_grad[0]:
                grad_x = torch.nn.grad.conv2d_input(xc.shape, wc, g, padding=1).to(x_dtype)
            if ctx.needs_input_grad[1]:
                rows = g.permute(0, 2, 3, 1).reshape(-1, g.shape[1])  # (B * H * W, O); a view where channels-last
                out_ch, in_ch = wc.shape[:2]
                grad_w = (rows.t() @ patches(xc)).view(out_ch, 3, 3, in_ch).permute(0, 3, 1, 2).to(w_dtype)
            if ctx.needs_input_grad[2]:
                grad_b = g.sum(dim=(0, 2, 3), dtype=torch.float32).to(b_dtype)
        return grad_x, grad_w, grad_b, None


class Conv3x3(nn.Conv2d):
    """nn.Conv2d(in_ch, out_ch, 3, padding=1), the same parameters and state dict, whose weight gradient is a
    matmul on the CPU where `uses_matmul_weight_grad` says so for the step's compute dtype."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__(in_ch, out_ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or not torch.is_grad_enabled() or not self.weight.requires_grad:
            return super().forward(x)
        dtype = torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else x.dtype
        if not uses_matmul_weight_grad(self.in_channels, max(x.shape[-2:]), dtype):
            return super().forward(x)
        return _MatmulWeightGrad.apply(x, self.weight, self.bias, dtype)
