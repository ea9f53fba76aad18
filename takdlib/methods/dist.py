"""DIST (Huang et al., NeurIPS 2022): match relations, not probabilities. With p = softmax(logits / τ) for
student and teacher (B, C): the inter-class term is 1 − the mean over images of the Pearson correlation of
their rows, the intra-class term the same over classes (columns); loss = CE + τ² · (β · inter + γ · intra)."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..recipes import MethodSettings, check_setting, finite
from .base import FromTeacherLogits


def pearson_rows(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Pearson correlation of each row of a with the same row of b: (B, C), (B, C) -> (B,)."""
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1) + eps)


def dist_parts(student: torch.Tensor, teacher: torch.Tensor, tau: float) -> tuple:
    """(inter, intra): 1 − mean row-wise and 1 − mean column-wise Pearson correlation of the softened outputs."""
    p_s, p_t = F.softmax(student.float() / tau, 1), F.softmax(teacher.float() / tau, 1)
    return 1 - pearson_rows(p_s, p_t).mean(), 1 - pearson_rows(p_s.T, p_t.T).mean()


@dataclass(frozen=True)
class DISTSettings(MethodSettings):
    """beta, gamma: the weights of the inter- and intra-class terms; tau: the temperature. Defaults: the
    official loss's β = γ = 1 at τ = 1 (its ImageNet setting; the paper's CIFAR-100 values were not checked)."""

    name = "dist"
    guides = (1, 1)
    beta: float = 1.0
    gamma: float = 1.0
    tau: float = 1.0

    def __post_init__(self):
        for field_name in ("beta", "gamma"):
            value = getattr(self, field_name)
            check_setting(finite(value) and value >= 0, self.name, field_name, value, "a finite number >= 0")
        check_setting(finite(self.tau) and self.tau > 0, self.name, "tau", self.tau, "a finite number > 0")


class DIST(FromTeacherLogits):
    settings = DISTSettings

    def terms(self, student, teacher, y, settings, progress) -> dict:
        s = settings
        inter, intra = dist_parts(student, teacher, s.tau)
        return {"ce": F.cross_entropy(student.float(), y), "inter": s.tau ** 2 * s.beta * inter,
                "intra": s.tau ** 2 * s.gamma * intra}
