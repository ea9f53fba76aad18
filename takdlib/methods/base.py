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
    modules by name ("model", and whatever the method added); guides: frozen, in eval mode; fixed_targets: each
    guide's targets (B, D) on these images (`Method.targets`), where the method takes them precomputed."""

    settings: MethodSettings
    precision: str
    progress: Progress
    parts: dict[str, nn.Module]
    guides: list[nn.Module]
    x: torch.Tensor
    y: torch.Tensor
    fixed_targets: list[torch.Tensor] | None
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

    def guide_targets(self, method: Method) -> list[torch.Tensor]:
        """Each guide's targets (B, D) in float32 for `method` (its logits, unless the method makes its targets
        of the guide's block features): the precomputed ones, else computed now, as they are precomputed."""
        if self.fixed_targets is not None:
            return self.fixed_targets
        outputs = self.guide_outputs(features=method.guide_features)
        return [method.targets(o).clone() for o in outputs]  # clone: inference tensors cannot be saved


class Method:
    """A distillation method: its settings (a `MethodSettings` subclass, which names the method and says how
    many guides it takes), the trainable parts it adds to the model, and its loss as named terms whose sum is
    the training loss."""

    settings: type[MethodSettings] = MethodSettings
    # True where the loss needs nothing of a guide but per-image targets of the batch's images (`targets`): a
    # frozen guide in eval mode gives an image the same targets every epoch, so on images that are never
    # augmented they are computed once for the whole training set
    fixed_guide_targets = False
    guide_features = False  # whether `targets` takes the guide's (logits, block features), not its logits

    def targets(self, output) -> torch.Tensor:
        """Per-image targets (B, D) in float32 from one guide's output on a batch (outside autocast): its
        logits (B, classes), or with `guide_features` a summary of its (logits, [block features])."""
        return output.float()

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

    fixed_guide_targets = True

    def terms(self, student: torch.Tensor, teacher: torch.Tensor, y: torch.Tensor, settings,
              progress: Progress) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def loss_terms(self, step: Step) -> dict:
        (teacher,) = step.guide_targets(self)
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
    """The labels' cross-entropy plus the settings' weight times the mean squared difference between summaries of
    the student's and the frozen teacher's block features (attention transfer's maps, FSP's matrices). A
    subclass names its term, says which block shapes it can compare, summarises a model's blocks, and scales
    the summed differences. The teacher's summaries are its targets: without augmentation they are computed
    once per training image, not at every step."""

    term = ""  # the distance term's name in the history
    scale = 1.0  # the summed mean squared differences are multiplied by this, then by the settings' weight
    fixed_guide_targets = True
    guide_features = True

    def comparable(self, student: list[tuple[int, int, int]], teacher: list[tuple[int, int, int]]) -> bool:
        """Whether blocks of these (channels, height, width) can be compared."""
        raise NotImplementedError

    def summaries(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        """Each compared unit's summary (B, ...) in float32 of a model's block features [(B, C, H, W)]."""
        raise NotImplementedError

    def targets(self, output) -> torch.Tensor:
        """The teacher's summaries on a batch, flattened and laid side by side: (B, D)."""
        _, features = output
        return torch.cat([s.flatten(1) for s in self.summaries(features)], 1)

    def parts(self, settings, model, guides, device) -> dict:
        student, teacher = feature_shapes(model, device), feature_shapes(guides[0], device)
        if not self.comparable(student, teacher):
            raise ValueError(f"{self.name} cannot compare the student's blocks {student} with the teacher's "
                             f"{teacher} (channels, height, width)")
        return {}

    def distance(self, features: list[torch.Tensor], teacher: torch.Tensor) -> torch.Tensor:
        """scale · Σ over compared units of the mean squared difference between the summaries of the student's
        block features [(B, C, H, W)] and the teacher's targets (B, D) (`targets`), outside autocast."""
        student = [s.flatten(1) for s in self.summaries(features)]
        teacher = torch.split(teacher, [s.shape[1] for s in student], 1)
        return torch.stack([(s - t).pow(2).mean() for s, t in zip(student, teacher)]).sum() * self.scale

    def loss_terms(self, step: Step) -> dict:
        (teacher,) = step.guide_targets(self)
        with step.autocast():
            logits, features = step.model(step.x, features=True)
        distance = self.distance(features, teacher)
        return {"ce": F.cross_entropy(logits.float(), step.y), self.term: step.settings.weight * distance}
