"""Attention transfer (Zagoruyko & Komodakis, ICLR 2017): the student's spatial attention maps follow the
teacher's, block by block, beside the labels' cross-entropy. Loss: CE + β/2 · Σ_j mean((a_s^j − a_t^j)²),
a = the L2-normalised channel mean of the squared feature map (the official code's `at` and `at_loss`)."""
import torch
import torch.nn.functional as F

from .base import Method, Step, feature_shapes


def attention_map(features: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, H·W): the channel mean of the squared activations, L2-normalised per image."""
    return F.normalize(features.float().pow(2).mean(1).flatten(1))


def at_loss(student: list[torch.Tensor], teacher: list[torch.Tensor]) -> torch.Tensor:
    """Σ over block pairs of the mean squared difference of their attention maps (same H, W per pair)."""
    return torch.stack([(attention_map(s) - attention_map(t)).pow(2).mean() for s, t in zip(student, teacher)]).sum()


class Attention(Method):
    name = "at"
    guides = (1, 1)

    def check(self, recipe) -> None:
        super().check(recipe)
        if recipe.method_weight is None:
            raise ValueError("method 'at' needs method_weight: β, the weight of the attention term (the paper's 1000)")

    def parts(self, recipe, model, guides, device) -> dict:
        student, teacher = feature_shapes(model, device), feature_shapes(guides[0], device)
        if [s[1:] for s in student] != [t[1:] for t in teacher]:
            raise ValueError(f"attention transfer pairs blocks of the same size: the student's blocks are "
                             f"{student}, the teacher's {teacher} (channels, height, width)")
        return {}

    def loss_terms(self, step: Step) -> dict:
        ((_, teacher_features),) = step.guide_outputs(features=True)
        with step.autocast():
            logits, features = step.model(step.x, features=True)
        beta = step.recipe.method_weight
        return {"ce": F.cross_entropy(logits.float(), step.y),
                "at": beta / 2 * at_loss(features, [t.clone() for t in teacher_features])}
