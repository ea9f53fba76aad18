"""Distillation losses as pure functions of tensors. Logits are (B, classes), targets (B,) int64."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

KL_REDUCTIONS = ("batchmean", "elementmean")


def kd_term(student_logits: torch.Tensor, teacher_logits: torch.Tensor, tau: float,
            kl: str = "batchmean") -> torch.Tensor:
    """tau^2 * KL(softmax(t/tau) || softmax(s/tau)).

    kl="batchmean" sums over classes and averages over the batch (Hinton et al.); "elementmean"
    averages over batch x classes, as the TAKD and DGKD code did (smaller by the number of classes).
    """
    if kl not in KL_REDUCTIONS:
        raise ValueError(f"unknown KL reduction {kl!r}; known: {', '.join(KL_REDUCTIONS)}")
    log_p_student = F.log_softmax(student_logits.float() / tau, dim=1)
    p_teacher = F.softmax(teacher_logits.float() / tau, dim=1)
    # written out as a sum and a divisor: PyTorch has announced that reduction="mean" will change meaning
    divisor = student_logits.shape[0] * (1 if kl == "batchmean" else student_logits.shape[1])
    return tau * tau * F.kl_div(log_p_student, p_teacher, reduction="sum") / divisor


def kd_terms(student_logits: torch.Tensor, teacher_logits: torch.Tensor, targets: torch.Tensor,
             tau: float, lam: float, kl: str = "batchmean") -> dict[str, torch.Tensor]:
    """The KD loss's two terms: {"ce": (1 - lam) * CE(y, s), "kd": lam * tau^2 * KL(softmax(t/tau) || softmax(s/tau))}."""
    ce = F.cross_entropy(student_logits.float(), targets)
    return {"ce": (1 - lam) * ce, "kd": lam * kd_term(student_logits, teacher_logits, tau, kl)}


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, targets: torch.Tensor,
            tau: float, lam: float, kl: str = "batchmean") -> torch.Tensor:
    """(1 - lam) * CE(y, s) + lam * tau^2 * KL(softmax(t/tau) || softmax(s/tau))."""
    terms = kd_terms(student_logits, teacher_logits, targets, tau, lam, kl)
    return terms["ce"] + terms["kd"]


def dgkd_terms(student_logits: torch.Tensor, guide_logits: list[torch.Tensor], targets: torch.Tensor,
               tau: float, lam: float, keep: torch.Tensor | None = None,
               kl: str = "batchmean") -> dict[str, torch.Tensor]:
    """DGKD's terms: {"guide i": kd_loss(student, guide i)} for every kept guide i (0 = the teacher).

    keep: (len(guide_logits),) bool; None keeps every guide.
    """
    if keep is None:
        keep = torch.ones(len(guide_logits), dtype=torch.bool)
    terms = {f"guide {i}": kd_loss(student_logits, g, targets, tau, lam, kl)
             for i, (g, k) in enumerate(zip(guide_logits, keep.tolist())) if k}
    if not terms:
        raise ValueError("DGKD needs at least one kept guide")
    return terms


def dgkd_loss(student_logits: torch.Tensor, guide_logits: list[torch.Tensor], targets: torch.Tensor,
              tau: float, lam: float, keep: torch.Tensor | None = None, kl: str = "batchmean") -> torch.Tensor:
    """DGKD (Son et al. 2021): the sum over kept guides of kd_loss(student, guide).

    keep: (len(guide_logits),) bool; None keeps every guide.
    """
    return torch.stack(list(dgkd_terms(student_logits, guide_logits, targets, tau, lam, keep, kl).values())).sum()


def bernoulli_keep(n_guides: int, keep_prob: float, generator: torch.Generator) -> torch.Tensor:
    """Stochastic DGKD as the paper describes it: keep each guide with probability keep_prob.

    If the draw drops every guide, one guide chosen uniformly is kept (the student always has a teacher).
    """
    keep = torch.rand(n_guides, generator=generator, device=generator.device) < keep_prob
    if not keep.any():
        keep[torch.randint(n_guides, (1,), generator=generator, device=generator.device)] = True
    return keep.cpu()


def fixed_drop_keep(n_guides: int, drop_num: int, generator: torch.Generator) -> torch.Tensor:
    """Stochastic DGKD as the public code does it: drop exactly drop_num guides chosen uniformly."""
    if not 0 <= drop_num < n_guides:
        raise ValueError(f"drop_num must be in [0, {n_guides - 1}] for {n_guides} guides, got {drop_num}")
    keep = torch.ones(n_guides, dtype=torch.bool)
    dropped = torch.randperm(n_guides, generator=generator, device=generator.device)[:drop_num].cpu()
    keep[dropped] = False
    return keep


def hint_regressor(student_channels: int, teacher_channels: int) -> nn.Module:
    """FitNets' convolutional regressor from the guided layer onto the hint layer (same H, W)."""
    return nn.Conv2d(student_channels, teacher_channels, kernel_size=3, padding=1)


def hint_loss(student_feature: torch.Tensor, teacher_feature: torch.Tensor, regressor: nn.Module) -> torch.Tensor:
    """FitNets stage 1: 1/2 * (r(guided) - hint)^2, averaged over every element. Features (B, C, H, W).

    FitNets sums over C x H x W; averaging instead keeps one learning rate usable for any hint size.
    """
    diff = regressor(student_feature).float() - teacher_feature.float()
    return 0.5 * diff.pow(2).mean()
