"""FitNets' stage 1 (Romero et al. 2015): a regressor maps the student's guided block onto the teacher's hint."""
from ..losses import hint_loss, hint_regressor
from .base import Method, Step, feature_shapes


class Hint(Method):
    name = "hint"
    guides = (1, 1)

    def check(self, recipe) -> None:
        super().check(recipe)
        if recipe.hint_layers is None:
            raise ValueError("method 'hint' needs hint_layers=(student block, teacher block)")

    def parts(self, recipe, model, guides, device) -> dict:
        guided, hinted = recipe.hint_layers
        channels = feature_shapes(model, device)[guided][0], feature_shapes(guides[0], device)[hinted][0]
        return {"regressor": hint_regressor(*channels).to(device)}

    def loss_terms(self, step: Step) -> dict:
        guided, hinted = step.recipe.hint_layers
        ((_, teacher_features),) = step.guide_outputs(features=True)
        with step.autocast():
            _, features = step.model(step.x, features=True)
            # clone: inference tensors cannot be saved for backward
            return {"hint": hint_loss(features[guided], teacher_features[hinted].clone(), step.parts["regressor"])}
