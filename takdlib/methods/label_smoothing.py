"""Label smoothing (Szegedy et al. 2016), the regulariser Yuan et al. (CVPR 2020) read KD as: training alone on
targets (1 − ε) · one-hot + ε / C, i.e. CE = −Σ_c q_c log p_c with that q. No guide."""
from dataclasses import dataclass

import torch.nn.functional as F

from ..recipes import MethodSettings, check_setting, finite
from .base import Method, Step


@dataclass(frozen=True)
class LabelSmoothingSettings(MethodSettings):
    """smoothing: ε, the probability mass spread evenly over all classes (Szegedy et al.'s 0.1)."""

    name = "ls"
    smoothing: float = 0.1

    def __post_init__(self):
        check_setting(finite(self.smoothing) and 0 < self.smoothing < 1, self.name, "smoothing", self.smoothing,
                      "in (0, 1)")


class LabelSmoothing(Method):
    settings = LabelSmoothingSettings

    def loss_terms(self, step: Step) -> dict:
        with step.autocast():
            logits = step.model(step.x)
        return {"smoothed ce": F.cross_entropy(logits.float(), step.y, label_smoothing=step.settings.smoothing)}
