"""Flow of solution procedure (Yim et al., CVPR 2017): the student's FSP matrices, the Gram matrices between
consecutive blocks' feature maps, follow the teacher's. Trained in one stage beside the labels'
cross-entropy: CE + λ · Σ_i mean((G_s^i − G_t^i)²), where the paper first trains on the FSP loss alone."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .base import FeatureDistance, WeightedDistance


def fsp_matrix(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """(B, C1, H1, W1), (B, C2, H2, W2) -> (B, C1, C2): Σ over positions of first · second / (H · W), the
    larger map average-pooled to the smaller's size first."""
    size = min(first.shape[-2:], second.shape[-2:])
    first, second = F.adaptive_avg_pool2d(first.float(), size), F.adaptive_avg_pool2d(second.float(), size)
    return first.flatten(2) @ second.flatten(2).transpose(1, 2) / (size[0] * size[1])


@dataclass(frozen=True)
class FSPSettings(WeightedDistance):
    """weight: λ, the weight of the FSP term."""

    name = "fsp"


class FSP(FeatureDistance):
    settings = FSPSettings
    term = "fsp"

    def comparable(self, student, teacher) -> bool:
        return [s[0] for s in student] == [t[0] for t in teacher]  # matrices of the same channels

    def summaries(self, features) -> list[torch.Tensor]:  # λ · Σ_i mean((G_s^i − G_t^i)²)
        return [fsp_matrix(first, second) for first, second in zip(features[:-1], features[1:])]
