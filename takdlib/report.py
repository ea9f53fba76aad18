"""Paper numbers, paired comparisons over seeds, verdicts, and the claims table.

PAPER holds every number quoted from the papers, each with its table and row; nothing else in the
project types a paper number.
"""
from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
from scipy import stats

# Every number below was checked against the papers' text (see PAPERS.md in the project's shared notes).
# Top-1 test accuracy (%), the papers' protocol: best test accuracy over epochs and over a hyperparameter search.
PAPER = {
    "takd_table1": {
        "source": "TAKD (Mirzadeh et al., AAAI 2020) Table 1: NOKD / BLKD / TAKD",
        "cifar10": {"plain": {"chain": ("plain10", "plain4", "plain2"), "NOKD": 70.16, "BLKD": 72.57, "TAKD": 73.51},
                    # Table 1's caption says 110 -> 20 -> 8; its TAKD value is Table 3's TA = resnet14 entry
                    "resnet": {"chain": ("resnet110", "resnet14", "resnet8"), "NOKD": 88.52, "BLKD": 88.65,
                               "TAKD": 88.98}},
        "cifar100": {"plain": {"chain": ("plain10", "plain4", "plain2"), "NOKD": 41.09, "BLKD": 44.57, "TAKD": 44.92},
                     "resnet": {"chain": ("resnet110", "resnet20", "resnet8"), "NOKD": 61.37, "BLKD": 61.41,
                                "TAKD": 61.82}},
        "imagenet": {"resnet": {"chain": ("resnet50", "resnet20", "resnet14"), "NOKD": 65.20, "BLKD": 66.60,
                                "TAKD": 67.36}},
    },
    "takd_table2_ta_size": {
        "source": "TAKD Table 2: student plain2 accuracy by TA, teacher plain10",
        "cifar10": {"plain8": 72.75, "plain6": 73.15, "plain4": 73.51},
        "cifar100": {"plain8": 44.28, "plain6": 44.57, "plain4": 44.92},
    },
    "takd_table3_ta_size": {
        "source": "TAKD Table 3: student resnet8 accuracy by TA, teacher resnet110",
        "cifar10": {"resnet56": 88.70, "resnet32": 88.73, "resnet20": 88.90, "resnet14": 88.98},
        "cifar100": {"resnet56": 61.47, "resnet32": 61.55, "resnet20": 61.82, "resnet14": 61.5},
    },
    "takd_figure6_methods": {
        "source": "TAKD Figure 6 (table): CIFAR-10, teacher resnet26, 80 epochs; FitNet/AT/FSP/BSS copied from Heo et al. 2018",
        "resnet8": {"NOKD": 86.02, "BLKD": 86.66, "FitNet": 86.73, "AT": 86.86, "FSP": 87.07, "BSS": 87.32,
                    "Mutual": 87.71, "TAKD": 88.01},
        "resnet14": {"NOKD": 89.11, "BLKD": 89.75, "FitNet": 89.72, "AT": 89.84, "FSP": 89.92, "BSS": 90.34,
                     "Mutual": 90.54, "TAKD": 91.23},
    },
    "fitnets_table5": {
        "source": "FitNets (Romero et al., ICLR 2015) Table 5: CIFAR-10, maxout teacher (~9M parameters)",
        "teacher": 90.18, "FitNet 1 (11 layers, ~250K)": 89.01, "FitNet 2 (11 layers, ~862K)": 91.06,
        "FitNet 3 (13 layers, ~1.6M)": 91.10, "FitNet 4 (19 layers, ~2.5M)": 91.61,
    },
    "fitnets_cifar100": {"source": "FitNets, CIFAR-100", "teacher": 63.54, "FitNet": 64.96},
    "dgkd_secondary": {
        "source": "DGKD (Son et al., ICCV 2021) — secondary source: from summaries of the paper, not its text",
        "cifar100_plain_10_8_6_4_2": {"TAKD": 45.14, "DGKD": 48.92},
        "cifar10_resnet_26_20_14_8": {"TAKD": 88.01, "DGKD": 89.02},
        "cifar100_plain_7_tas": {"TAKD": 44.07, "DGKD": 49.56},
    },
}

ALPHA = 0.05
VERDICT_RULE = (
    "Paired by seed (every method of one seed shares the student's initialisation and batch order; where the "
    "profile trains several students per seed, all sharing the seed's teacher and TAs, the seed's value is their "
    "mean): for the per-seed differences d = A − B, a two-sided paired t-test at 5 % (t = mean(d) / (sd(d)/√n), n − 1 degrees "
    "of freedom). *Reproduced* when t exceeds the critical value in A's favour, *not reproduced* when in B's, "
    "*inconclusive* otherwise or with fewer than 2 seeds. An inconclusive row states the smallest |mean(d)| this "
    "design could call (t_crit · sd(d)/√n) and how many seeds the observed difference would need at the same sd."
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
    def verdict(self) -> str:
        if self.n < 2 or math.isnan(self.t):
            return "inconclusive"
        crit = t_critical(self.n)
        return "reproduced" if self.t > crit else "not reproduced" if self.t < -crit else "inconclusive"

    @property
    def smallest_callable(self) -> float:
        """The |mean difference − margin| this design calls at its observed sd (points)."""
        return t_critical(self.n) * self.sd_diff / math.sqrt(self.n) if self.n >= 2 else math.inf

    def power(self) -> str:
        """For an inconclusive comparison: what the design could call, and the seeds the observed effect needs."""
        if self.verdict != "inconclusive":
            return ""
        if self.n < 2:
            return f"{self.n} paired seed(s): nothing can be called"
        need = seeds_needed(self.mean_diff - self.margin, self.sd_diff)
        need_text = f"≈{need} seeds" if need else "more than 1000 seeds (no effect to detect)"
        return (f"with {self.n} seeds the design calls |Δ{'−' + format(self.margin, 'g') if self.margin else ''}| ≥ "
                f"{self.smallest_callable:.2f}; the observed {self.mean_diff - self.margin:+.2f} would need {need_text}")

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


def best_not_largest(acc_by_model: dict[str, Mapping[int, float]], largest: str) -> tuple[str, Comparison]:
    """'The best teacher (or TA) is not the largest': (the best other model, the paired comparison of its
    students against the largest's); reproduced when the other is better."""
    others = {k: v for k, v in acc_by_model.items() if k != largest}
    if not others:
        raise ValueError(f"no model besides {largest} to compare with")
    best = max(others, key=lambda k: mean_std(others[k])[0])
    return best, compare(others[best], acc_by_model[largest])


def all_steps(comparisons: list[Comparison]) -> str:
    """Verdict on a claim that needs every comparison: reproduced when all are, not reproduced when any
    is reversed, inconclusive otherwise."""
    verdicts = [c.verdict for c in comparisons]
    if verdicts and all(v == "reproduced" for v in verdicts):
        return "reproduced"
    return "not reproduced" if "not reproduced" in verdicts else "inconclusive"


def inherited_mistake_rate(teacher_pred, student_pred, labels) -> float:
    """Of the images the teacher (or TA) gets wrong, the % the student gets wrong with the same label."""
    wrong = teacher_pred != labels
    if int(wrong.sum()) == 0:
        return float("nan")
    return float(100.0 * ((student_pred == teacher_pred) & wrong).sum() / wrong.sum())


def claim(name: str, paper: str, ours: str, verdict_: str, profile: str, power: str = "") -> dict:
    """One row of the claims table. No verdict is given on the smoke profile. power: for an inconclusive
    row, what the design could have called (see Comparison.power)."""
    return dict(claim=name, paper=paper, ours=ours, power=power if verdict_ == "inconclusive" else "",
                verdict=verdict_ if profile != "smoke" else "not judged (smoke)")


def comparison_claim(name: str, paper: str, c: Comparison, name_a: str, name_b: str, profile: str) -> dict:
    """A claim decided by one paired comparison."""
    return claim(name, paper, c.text(name_a, name_b), c.verdict, profile, c.power())


def claims_markdown(claims: list[dict]):
    """The claims as a Markdown table, for a notebook's closing cell."""
    from IPython.display import Markdown

    lines = ["| claim | paper | ours | verdict |", "|---|---|---|---|"]
    lines += [f"| {c['claim']} | {c['paper']} | {c['ours']}{_power_suffix(c)} | **{c['verdict']}** |" for c in claims]
    return Markdown("\n".join(lines))


def _power_suffix(c: dict) -> str:
    return f" — *{c['power']}*" if c.get("power") else ""


def write_json(payload: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, sort_keys=True, default=float) + "\n")
    return path


def claims_table(results_dir: str | Path) -> list[dict]:
    rows = []
    for path in sorted(Path(results_dir).glob("*.json")):
        payload = json.loads(path.read_text())
        for c in payload.get("claims", []):
            rows.append(dict(notebook=path.stem, **{"power": "", **c}))
    return rows


def verdict_counts(rows: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    return counts


def format_claims(rows: list[dict]) -> str:
    if not rows:
        return "no claims found"
    cols = ["notebook", "claim", "ours", "verdict"]
    widths = {c: min(60, max(len(c), *(len(str(r[c])) for r in rows))) for c in cols}
    line = lambda r: "  ".join(str(r[c])[:widths[c]].ljust(widths[c]) for c in cols)  # noqa: E731
    counts = ", ".join(f"{n} {v}" for v, n in sorted(verdict_counts(rows).items()))
    return "\n".join([line({c: c for c in cols}), line({c: "-" * widths[c] for c in cols}), *map(line, rows),
                      f"{len(rows)} claims: {counts}"])


def claims_markdown_file(rows: list[dict]) -> str:
    """The whole claims table as a Markdown document (results/claims.md), generated, never typed."""
    counts = ", ".join(f"{n} {v}" for v, n in sorted(verdict_counts(rows).items()))
    lines = ["# Claims: paper vs ours vs verdict", "", VERDICT_RULE, "", f"{len(rows)} claims: {counts}.", "",
             "| notebook | claim | paper | ours | verdict | what the design could call (inconclusive rows) |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['notebook']} | {r['claim']} | {r['paper']} | {r['ours']} | **{r['verdict']}** | {r['power']} |"
              for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print every notebook's claims: paper vs ours vs verdict.")
    parser.add_argument("results_dir")
    parser.add_argument("--markdown", action="store_true", help="also write <results_dir>/claims.md")
    args = parser.parse_args(argv)
    rows = claims_table(args.results_dir)
    print(format_claims(rows))
    if args.markdown:
        (Path(args.results_dir) / "claims.md").write_text(claims_markdown_file(rows))


if __name__ == "__main__":
    main()
