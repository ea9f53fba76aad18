"""FitNets' stage 1 (Romero et al. 2015): a regressor maps the student's guided block onto the teacher's hint."""
from dataclasses import dataclass

from ..losses import hint_loss, hint_regressor
from ..recipes import MethodSettings, check_setting
from .base import Method, Step, feature_shapes


@dataclass(frozen=True)
class HintSettings(MethodSettings):
    """layers: (the student's guided block, the teacher's hint block), indices into each model's blocks."""

    name = "hint"
    guides = (1, 1)
    layers: tuple[int, int]

    def __post_init__(self):
        ok = (isinstance(self.layers, tuple) and len(self.layers) == 2
              and all(isinstance(i, int) and i >= 0 for i in self.layers))
        check_setting(ok, self.name, "layers", self.layers, "(student block, teacher block), two integers >= 0")


class Hint(Method):
    settings = HintSettings

    def parts(self, settings, model, guides, device) -> dict:
        guided, hinted = settings.layers
        student, teacher = feature_shapes(model, device), feature_shapes(guides[0], device)
        for which, i, blocks in (("student", guided, student), ("teacher", hinted, teacher)):
            check_setting(i < len(blocks), self.name, "layers", settings.layers,
                          f"blocks the models have: the {which} has {len(blocks)}")
        return {"regressor": hint_regressor(student[guided][0], teacher[hinted][0]).to(device)}

    def loss_terms(self, step: Step) -> dict:
        guided, hinted = step.settings.layers
        ((_, teacher_features),) = step.guide_outputs(features=True)
        with step.autocast():
            _, features = step.model(step.x, features=True)
            # clone: inference tensors cannot be saved for backward
            return {"hint": hint_loss(features[guided], teacher_features[hinted].clone(), step.parts["regressor"])}
