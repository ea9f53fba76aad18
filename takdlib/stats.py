"""Paired comparisons over seeds: the statistics every verdict rests on (the rules are `takdlib.claims`)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
from scipy import stats

ALPHA = 0.05
VERDICT_RULE = (
    "Paired by seed (every method of one seed shares the student's initialisation and batch order; where the "
    "profile trains several students per seed, all sharing the seed's teacher and TAs, the seed's value is their "
    "mean): for the per-seed differences d = A − B, a two-sided paired t-test at 5 % (t = mean(d) / (sd(d)/√n), n − 1 "
    "degrees of freedom). A comparison is decided when t passes the critical value, for A or for B, and undecided "
    "otherwise or with fewer than 2 seeds; each kind of row (`takdlib.claims`) builds its verdict from such "
    "comparisons and words it its own way. A claim that every one of several comparisons holds is called when each "
    "passes 5 % (an intersection–union test); one that some comparison goes against it, or that some one of m "
    "candidates wins, is decided by Holm's step-down or at 5 %/m, so no row's error exceeds 5 % however many "
    "comparisons it makes. An undecided row states the smallest |mean(d)| this design could call at the level its "
    "rule tests at (t_crit · sd(d)/√n), how many seeds the observed difference would need at the same sd, and which "
    "way it leans. A paper claim names the setup checks it rests on; where one of them does not hold, the claim is "
    "not testable here and takes no verdict."
)


def t_critical(n: int, alpha: float = ALPHA) -> float:
    """Two-sided critical value of Student's t with n − 1 degrees of freedom (inf for n < 2)."""
    return float(stats.t.ppf(1 - alpha / 2, n - 1)) if n >= 2 else math.inf


def seeds_needed(diff: float, sd: float, alpha: float = ALPHA, most: int = 1000) -> int | None:
    """Fewest seeds n at which a true mean difference `diff` with per-seed sd `sd` reaches the critical
    value on average (t_crit(n) · sd/√n < |diff|); None when not within `most` seeds."""
    if not math.isfinite(diff) or diff == 0:
        return None
    if sd == 0:
        return 2
    for n in range(2, most + 1):
        if t_critical(n, alpha) * sd / math.sqrt(n) < abs(diff):
            return n
    return None


@dataclass(frozen=True)
class Comparison:
    """A − B paired by seed. diffs are per-seed differences in the seeds both sides have."""

    a: tuple[float, ...]
    b: tuple[float, ...]
    diffs: tuple[float, ...]
    margin: float = 0.0  # the claim is A − B > margin

    @property
    def n(self) -> int:
        return len(self.diffs)

    @property
    def mean_diff(self) -> float:
        return float(np.mean(self.diffs)) if self.diffs else math.nan

    @property
    def sd_diff(self) -> float:
        return float(np.std(self.diffs, ddof=1)) if self.n > 1 else math.nan

    @property
    def t(self) -> float:
        if self.n < 2:
            return math.nan
        excess = self.mean_diff - self.margin
        if self.sd_diff == 0:
            return math.copysign(math.inf, excess) if excess else 0.0
        return excess / (self.sd_diff / math.sqrt(self.n))

    @property
    def p(self) -> float:
        """Two-sided p-value of the paired t-test of A − B − margin (nan with fewer than 2 seeds)."""
        if self.n < 2 or math.isnan(self.t):
            return math.nan
        return float(2 * stats.t.sf(abs(self.t), self.n - 1))

    def decided(self, alpha: float = ALPHA) -> int:
        """+1 when A − B − margin is decided positive by the two-sided test at `alpha`, −1 when decided
        negative, 0 otherwise (and with fewer than 2 seeds)."""
        if self.n < 2 or math.isnan(self.t):
            return 0
        crit = t_critical(self.n, alpha)
        return 1 if self.t > crit else -1 if self.t < -crit else 0

    def smallest_callable(self, alpha: float = ALPHA) -> float:
        """The |mean difference − margin| this design calls at level `alpha` at its observed sd (points)."""
        return t_critical(self.n, alpha) * self.sd_diff / math.sqrt(self.n) if self.n >= 2 else math.inf

    def text(self, name_a: str = "A", name_b: str = "B") -> str:
        return (f"{name_a} {fmt(self.a)}; {name_b} {fmt(self.b)}; paired Δ {self.mean_diff:+.2f} ± "
                f"{self.sd_diff:.2f} (t = {self.t:.1f}, n = {self.n})")


def compare(a: Mapping[int, float], b: Mapping[int, float], margin: float = 0.0) -> Comparison:
    """Paired comparison of A − B over the seeds both mappings (seed -> value) hold."""
    seeds = sorted(s for s in set(a) & set(b) if _finite(a[s]) and _finite(b[s]))
    return Comparison(tuple(a[s] for s in seeds), tuple(b[s] for s in seeds),
                      tuple(a[s] - b[s] for s in seeds), margin)


def _finite(x) -> bool:
    return x is not None and math.isfinite(x)


def by_seed(frame, value: str = "acc") -> dict[int, float]:
    """{seed: value} from a measured table's rows (one row per seed expected; a row's value is already the
    mean over the seed's students, see Experiment.measure)."""
    if frame["seed"].duplicated().any():
        raise ValueError("by_seed needs one row per seed; filter the table first")
    return {int(s): float(v) for s, v in zip(frame["seed"], frame[value])}


def mean_std(values) -> tuple[float, float, int]:
    """(mean, sample sd, n); sd is nan for n < 2."""
    if isinstance(values, Mapping):
        values = list(values.values())
    v = np.asarray([x for x in values if _finite(x)], dtype=float)
    if len(v) == 0:
        return float("nan"), float("nan"), 0
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else float("nan"), len(v)


def fmt(values) -> str:
    m, s, n = mean_std(values)
    return f"{m:.2f} ± {s:.2f} (n={n})" if n > 1 else f"{m:.2f} (n={n})"


def inherited_mistake_rate(teacher_pred, student_pred, labels) -> float:
    """Of the images the teacher (or TA) gets wrong, the % the student gets wrong with the same label."""
    wrong = teacher_pred != labels
    if int(wrong.sum()) == 0:
        return float("nan")
    return float(100.0 * ((student_pred == teacher_pred) & wrong).sum() / wrong.sum())
