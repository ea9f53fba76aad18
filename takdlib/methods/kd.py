"""Knowledge distillation (Hinton et al. 2015): the labels' cross-entropy and the softened teacher's KL."""
from ..losses import kd_terms
from .base import Method, Step


class KD(Method):
    name = "kd"
    guides = (1, 1)
    uses_guide_logits_only = True

    def loss_terms(self, step: Step) -> dict:
        (teacher,) = step.guide_logits()
        with step.autocast():
            logits = step.model(step.x)
        r = step.recipe
        return kd_terms(logits, teacher, step.y, r.tau, r.lam, r.kl)
