"""Knowledge distillation (Hinton et al. 2015): the labels' cross-entropy and the softened teacher's KL."""
from dataclasses import dataclass

from ..losses import KL_REDUCTIONS, kd_terms
from ..recipes import MethodSettings, check_setting, finite
from .base import FromTeacherLogits


@dataclass(frozen=True)
class KDSettings(MethodSettings):
    """(1 − lam) · CE + lam · tau² · KL(softmax(teacher / tau) ‖ softmax(student / tau)); kl: the KL's reduction,
    "batchmean" (Hinton's) or "elementmean" (the TAKD code's, smaller by the number of classes)."""

    name = "kd"
    guides = (1, 1)
    tau: float = 4.0
    lam: float = 0.5
    kl: str = "batchmean"

    def __post_init__(self):
        check_setting(finite(self.tau) and self.tau > 0, self.name, "tau", self.tau, "a finite number > 0 (a "
                      "softmax temperature)")
        check_setting(finite(self.lam) and 0 <= self.lam <= 1, self.name, "lam", self.lam,
                      "in [0, 1] (the weight of the KD term)")
        check_setting(self.kl in KL_REDUCTIONS, self.name, "kl", self.kl, f"one of {', '.join(KL_REDUCTIONS)}")


class KD(FromTeacherLogits):
    settings = KDSettings

    def terms(self, student, teacher, y, settings, progress) -> dict:
        return kd_terms(student, teacher, y, settings.tau, settings.lam, settings.kl)
