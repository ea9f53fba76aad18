"""The plain CNNs' 3x3 convolution, with the weight gradient on small maps computed as one matmul.

On a CPU, oneDNN's backward-weights kernel for a 3x3 convolution over a small map (4 x 4 in plain8 and plain10)
is several times slower than its forward pass; the same gradient as one matrix product of the output gradient
with the input's 3x3 patches is faster there (benchmarks/weight_grad.py measures both per layer shape and
precision, and sets `MATMUL_WEIGHT_GRAD_MAX_SIDE`). The forward pass and the input gradient stay oneDNN's; the
weight gradient is the same sum in another order, so it differs from autograd's at rounding only
(tests/test_models.py).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# the largest map side (in pixels) at which the matmul weight gradient is used, per compute dtype: where
# benchmarks/weight_grad.py found it faster than oneDNN's kernel at every channel width of the plain CNNs
MATMUL_WEIGHT_GRAD_MAX_SIDE = {torch.bfloat16: 4, torch.float32: 4}


def patches(x: torch.Tensor) -> torch.Tensor:
    """The 3x3 patches of x (B, C, H, W) padded by 1, as rows: (B * H * W, C * 9), each row ordered as a
    conv weight's (C, 3, 3) is flattened."""
    b, c, h, w = x.shape
    padded = F.pad(x.permute(0, 2, 3, 1), (0, 0, 1, 1, 1, 1))  # (B, H + 2, W + 2, C)
    return padded.unfold(1, 3, 1).unfold(2, 3, 1).reshape(b * h * w, c * 9)  # (B, H, W, C, 3, 3) -> rows


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
                grad_w = (rows.t() @ patches(xc)).view(wc.shape).to(w_dtype)
            if ctx.needs_input_grad[2]:
                grad_b = g.sum(dim=(0, 2, 3), dtype=torch.float32).to(b_dtype)
        return grad_x, grad_w, grad_b, None


class Conv3x3(nn.Conv2d):
    """nn.Conv2d(in_ch, out_ch, 3, padding=1), the same parameters and state dict, whose weight gradient is a
    matmul on CPU maps no larger than `MATMUL_WEIGHT_GRAD_MAX_SIDE` in the step's compute dtype."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__(in_ch, out_ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or not torch.is_grad_enabled() or not self.weight.requires_grad:
            return super().forward(x)
        dtype = torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else x.dtype
        if max(x.shape[-2:]) > MATMUL_WEIGHT_GRAD_MAX_SIDE.get(dtype, 0):
            return super().forward(x)
        return _MatmulWeightGrad.apply(x, self.weight, self.bias, dtype)
