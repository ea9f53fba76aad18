"""Decoupled KD (Zhao et al., CVPR 2022): KD's KL split into a target-class term (TCKD: the binary
distribution [p_target, 1 − p_target]) and a non-target term (NCKD: the distribution over the other classes),
weighted apart: CE + w · (α · TCKD + β · NCKD), both KLs batch-averaged and scaled by τ², with w rising linearly
from 0 to 1 over the first `warmup` share of training (the official code: 20 of 240 epochs)."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..recipes import MethodSettings, check_setting, finite
from .base import FromTeacherLogits


def dkd_parts(student: torch.Tensor, teacher: torch.Tensor, target: torch.Tensor, tau: float) -> tuple:
    """(TCKD, NCKD) for logits (B, C) and labels (B,): each τ² · mean over the batch of a KL(teacher ‖ student)."""
    target_mask = F.one_hot(target, student.shape[1]).bool()
    p_s, p_t = F.softmax(student.float() / tau, 1), F.softmax(teacher.float() / tau, 1)

    def binary(p):  # [p_target, 1 − p_target] per image, (B, 2)
        on = (p * target_mask).sum(1)
        return torch.stack([on, (p * ~target_mask).sum(1)], 1)

    b_s, b_t = binary(p_s), binary(p_t)
    tckd = (b_t * (b_t.clamp_min(1e-12).log() - b_s.clamp_min(1e-12).log())).sum(1).mean() * tau ** 2
    # the non-target classes: the target's logit pushed far down, so its share of the softmax is nil
    log_q_s = F.log_softmax(student.float() / tau - 1000.0 * target_mask, 1)
    q_t = F.softmax(teacher.float() / tau - 1000.0 * target_mask, 1)
    nckd = F.kl_div(log_q_s, q_t, reduction="sum") / student.shape[0] * tau ** 2
    return tckd, nckd


@dataclass(frozen=True)
class DKDSettings(MethodSettings):
    """alpha, beta: the weights of TCKD and NCKD; tau: the temperature; warmup: the share of training over which
    the distillation weight rises to 1. Defaults: the official code's (mdistiller: α 1, β 8, τ 4, 20 of 240
    epochs; its CIFAR-100 pairs set β from 2 to 8)."""

    name = "dkd"
    guides = (1, 1)
    alpha: float = 1.0
    beta: float = 8.0
    tau: float = 4.0
    warmup: float = 20 / 240

    def __post_init__(self):
        for field_name in ("alpha", "beta"):
            value = getattr(self, field_name)
            check_setting(finite(value) and value >= 0, self.name, field_name, value, "a finite number >= 0")
        check_setting(finite(self.tau) and self.tau > 0, self.name, "tau", self.tau, "a finite number > 0")
        check_setting(finite(self.warmup) and 0 <= self.warmup <= 1, self.name, "warmup", self.warmup,
                      "in [0, 1] (a share of the training)")


class DKD(FromTeacherLogits):
    settings = DKDSettings

    def terms(self, student, teacher, y, settings, progress) -> dict:
        s = settings
        ramp = min(progress.fraction / s.warmup, 1.0) if s.warmup else 1.0
        tckd, nckd = dkd_parts(student, teacher, y, s.tau)
        return {"ce": F.cross_entropy(student.float(), y), "tckd": ramp * s.alpha * tckd,
                "nckd": ramp * s.beta * nckd}
