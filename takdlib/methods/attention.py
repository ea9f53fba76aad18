"""Attention transfer (Zagoruyko & Komodakis, ICLR 2017): the student's spatial attention maps follow the
teacher's, block by block, beside the labels' cross-entropy. Loss: CE + β/2 · Σ_j mean((a_s^j − a_t^j)²),
a = the L2-normalised channel mean of the squared feature map (the official code's `at` and `at_loss`)."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .base import FeatureDistance, WeightedDistance


def channels_last_grad(features: torch.Tensor) -> torch.Tensor:
    """`features` (B, C, H, W) itself, its gradient made channels-last on the way back. The channel mean's
    backward sends a gradient in the default layout; added to the network's own channels-last gradient of the
    same block, it would turn that sum and the block's ReLU and convolution backward into strided kernels: AT's
    step 1.27x slower on resnet8 (benchmarks/RESULTS.md). The same values, laid out as the network's."""
    if features.requires_grad:
        features.register_hook(lambda grad: grad.contiguous(memory_format=torch.channels_last))
    return features


def attention_map(features: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, H·W): the channel mean of the squared activations, L2-normalised per image."""
    return F.normalize(channels_last_grad(features.float()).pow(2).mean(1).flatten(1))


@dataclass(frozen=True)
class AttentionSettings(WeightedDistance):
    """weight: β, the weight of the attention term (the paper's 1000)."""

    name = "at"


class Attention(FeatureDistance):
    settings = AttentionSettings
    term = "at"

    def comparable(self, student, teacher) -> bool:
        return [s[1:] for s in student] == [t[1:] for t in teacher]  # maps of the same height and width

    scale = 0.5  # β/2 · Σ_j mean((a_s^j − a_t^j)²)

    def summaries(self, features) -> list[torch.Tensor]:
        return [attention_map(f) for f in features]
