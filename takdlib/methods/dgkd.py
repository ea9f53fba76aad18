"""Densely guided KD (Son et al. 2021): a KD loss from every guide, some guides dropped at each step."""
from ..losses import bernoulli_keep, dgkd_terms, fixed_drop_keep
from .base import Method, Step


class DGKD(Method):
    name = "dgkd"
    guides = (1, 99)
    uses_guide_logits_only = True

    def check(self, recipe) -> None:
        super().check(recipe)
        n = len(recipe.guides)
        if recipe.drop == "fixed" and not 0 <= recipe.drop_num < n:
            raise ValueError(f"recipe field drop_num = {recipe.drop_num!r} is not allowed: it must be in "
                             f"[0, {n - 1}] (below the number of guides, {n})")

    def loss_terms(self, step: Step) -> dict:
        guide_logits = step.guide_logits()
        with step.autocast():
            logits = step.model(step.x)
        r, n = step.recipe, len(step.guides)
        keep = None
        if r.drop == "bernoulli":
            keep = bernoulli_keep(n, r.keep_prob, step.generator)
        elif r.drop == "fixed":
            keep = fixed_drop_keep(n, r.drop_num, step.generator)
        return dgkd_terms(logits, guide_logits, step.y, r.tau, r.lam, keep, r.kl)
