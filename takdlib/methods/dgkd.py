"""Densely guided KD (Son et al. 2021): a KD loss from every guide, some guides dropped at each step."""
from dataclasses import dataclass

from ..losses import bernoulli_keep, dgkd_terms, fixed_drop_keep
from ..recipes import check_setting, finite
from .base import Method, Step
from .kd import KDSettings

DROP_MODES = ("none", "bernoulli", "fixed")


@dataclass(frozen=True)
class DGKDSettings(KDSettings):
    """KD's settings, one (1 − lam) · CE + lam · KD term per guide, and which guides a step drops: "none";
    "bernoulli", each kept with probability keep_prob (the paper); "fixed", drop_num of them chosen uniformly
    (the public code, whose default is 1)."""

    name = "dgkd"
    guides = (1, 99)
    drop: str = "none"
    keep_prob: float = 1.0
    drop_num: int = 0

    def __post_init__(self):
        super().__post_init__()
        check_setting(self.drop in DROP_MODES, self.name, "drop", self.drop, f"one of {', '.join(DROP_MODES)}")
        bernoulli, fixed = self.drop == "bernoulli", self.drop == "fixed"
        check_setting(finite(self.keep_prob) and 0 < self.keep_prob <= 1 and (bernoulli or self.keep_prob == 1),
                      self.name, "keep_prob", self.keep_prob,
                      "in (0, 1]" + ("" if bernoulli else ", and 1 unless drop is 'bernoulli' (it is not read)"))
        check_setting(isinstance(self.drop_num, int) and self.drop_num >= (1 if fixed else 0)
                      and (fixed or self.drop_num == 0), self.name, "drop_num", self.drop_num,
                      "an integer >= 1" if fixed else "0 unless drop is 'fixed' (it is not read)")

    def check_guides(self, n: int) -> None:
        super().check_guides(n)
        check_setting(self.drop != "fixed" or self.drop_num < n, self.name, "drop_num", self.drop_num,
                      f"below the number of guides, {n}")


class DGKD(Method):
    settings = DGKDSettings
    fixed_guide_targets = True

    def loss_terms(self, step: Step) -> dict:
        guide_logits = step.guide_targets(self)
        with step.autocast():
            logits = step.model(step.x)
        s, n = step.settings, len(step.guides)
        keep = None
        if s.drop == "bernoulli":
            keep = bernoulli_keep(n, s.keep_prob, step.generator)
        elif s.drop == "fixed":
            keep = fixed_drop_keep(n, s.drop_num, step.generator)
        return dgkd_terms(logits, guide_logits, step.y, s.tau, s.lam, keep, s.kl)
