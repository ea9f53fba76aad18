"""Training alone: cross-entropy on the labels (the base `MethodSettings`: nothing to set)."""
import torch.nn.functional as F

from .base import Method, Step


class Scratch(Method):
    def loss_terms(self, step: Step) -> dict:
        with step.autocast():
            logits = step.model(step.x)
        return {"ce": F.cross_entropy(logits.float(), step.y)}
