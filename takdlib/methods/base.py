"""What a distillation method is to the training loop, which knows no method by name."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..precision import autocast
from ..recipes import MethodSettings, check_setting, finite


@dataclass(frozen=True)
class Progress:
    """Where a step is in its training: epoch (0-based) of epochs, step (0-based) of steps_per_epoch."""

    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int

    @property
    def fraction(self) -> float:
        """The share of the training done before this step, in [0, 1)."""
        return (self.epoch * self.steps_per_epoch + self.step) / (self.epochs * self.steps_per_epoch)


@dataclass
class Step:
    """One training step as a method sees it: its settings (the recipe's), the precision ("bf16", "fp16",
    "fp32") and the progress; x: images (B, 3, 32, 32), normalised; y: labels (B,); parts: the trainable
    modules by name ("model", and whatever the method added); guides: frozen, in eval mode; fixed_logits: each
    guide's logits (B, classes) on these images, where the method takes them precomputed."""

    settings: MethodSettings
    precision: str
    progress: Progress
    parts: dict[str, nn.Module]
    guides: list[nn.Module]
    x: torch.Tensor
    y: torch.Tensor
    fixed_logits: list[torch.Tensor] | None
    generator: torch.Generator
    device: torch.device

    @property
    def model(self) -> nn.Module:
        return self.parts["model"]

    def autocast(self):
        return autocast(self.device, self.precision)

    def guide_outputs(self, features: bool = False) -> list:
        """Each guide's output on the batch, without gradients: logits (B, classes), or with `features`
        (logits, [feature map (B, C, H, W) of each block])."""
        with torch.inference_mode(), self.autocast():
            return [g(self.x, features=features) for g in self.guides]

    def guide_logits(self) -> list[torch.Tensor]:
        """Each guide's logits (B, classes) in float32: the precomputed ones, else computed now."""
        if self.fixed_logits is not None:
            return self.fixed_logits
        return [t.float().clone() for t in self.guide_outputs()]  # clone: inference tensors cannot be saved


class Method:
    """A distillation method: its settings (a `MethodSettings` subclass, which names the method and says how
    many guides it takes), the trainable parts it adds to the model, and its loss as named terms whose sum is
    the training loss."""

    settings: type[MethodSettings] = MethodSettings
    # True where the loss needs each guide's logits on the batch's images and nothing else: on images that are
    # never augmented they are computed once for the whole training set (a frozen guide in eval mode)
    uses_guide_logits_only = False

    @property
    def name(self) -> str:
        return self.settings.name

    def parts(self, settings: MethodSettings, model: nn.Module, guides: list[nn.Module],
              device: torch.device) -> dict[str, nn.Module]:
        """Trainable modules besides the model (trained with it, saved in its resume points)."""
        return {}

    def loss_terms(self, step: Step) -> dict[str, torch.Tensor]:
        """The loss of one step as named scalar terms; the training minimises their sum."""
        raise NotImplementedError


class FromTeacherLogits(Method):
    """A method whose loss needs the student's logits and one frozen teacher's, nothing else (KD, DIST, DKD): a
    subclass gives its terms from the two (B, classes) logits, the labels, its settings and the progress."""

    uses_guide_logits_only = True

    def terms(self, student: torch.Tensor, teacher: torch.Tensor, y: torch.Tensor, settings,
              progress: Progress) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def loss_terms(self, step: Step) -> dict:
        (teacher,) = step.guide_logits()
        with step.autocast():
            logits = step.model(step.x)
        return self.terms(logits, teacher, step.y, step.settings, step.progress)


def total(terms: dict[str, torch.Tensor]) -> torch.Tensor:
    """The training loss: the sum of a method's terms."""
    return torch.stack(list(terms.values())).sum()


def feature_shapes(model: nn.Module, device: torch.device) -> list[tuple[int, int, int]]:
    """(channels, height, width) of each block's feature map of `model` on a 32 × 32 image."""
    with torch.no_grad():
        _, feats = model.eval()(torch.zeros(2, 3, 32, 32, device=device), features=True)
    return [tuple(f.shape[1:]) for f in feats]


@dataclass(frozen=True)
class WeightedDistance(MethodSettings):
    """The settings of a `FeatureDistance` method: the weight of its distance term (> 0, finite)."""

    guides = (1, 1)
    weight: float

    def __post_init__(self):
        check_setting(finite(self.weight) and self.weight > 0, self.name, "weight", self.weight,
                      "a finite number > 0 (the weight of the distance term)")


class FeatureDistance(Method):
    """The labels' cross-entropy plus the settings' weight times a distance between the student's and the frozen
    teacher's block features (attention transfer, FSP). A subclass names its term, says which block shapes it
    can compare, and gives the distance."""

    term = ""  # the distance term's name in the history

    def comparable(self, student: list[tuple[int, int, int]], teacher: list[tuple[int, int, int]]) -> bool:
        """Whether blocks of these (channels, height, width) can be compared."""
        raise NotImplementedError

    def distance(self, student: list[torch.Tensor], teacher: list[torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def parts(self, settings, model, guides, device) -> dict:
        student, teacher = feature_shapes(model, device), feature_shapes(guides[0], device)
        if not self.comparable(student, teacher):
            raise ValueError(f"{self.name} cannot compare the student's blocks {student} with the teacher's "
                             f"{teacher} (channels, height, width)")
        return {}

    def loss_terms(self, step: Step) -> dict:
        ((_, teacher_features),) = step.guide_outputs(features=True)
        with step.autocast():
            logits, features = step.model(step.x, features=True)
        # clone: inference tensors cannot be saved for backward
        distance = self.distance(features, [t.clone() for t in teacher_features])
        return {"ce": F.cross_entropy(logits.float(), step.y), self.term: step.settings.weight * distance}
