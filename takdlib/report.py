"""Paper numbers, statistics over seeds, verdicts, and the claims table.

PAPER holds every number quoted from the papers, each with its table and row; nothing else in the
project types a paper number.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

# TAKD (Mirzadeh et al., AAAI 2020, arXiv:1902.03393v2), Table 2: student accuracy (%), best test
# accuracy over epochs and over the hyperparameter search. CIFAR plain CNNs: T=plain10, TA=plain4,
# S=plain2; ResNets: T=resnet110, TA=resnet20, S=resnet8. Transcribed without network access to the
# arXiv page in the session that wrote it: check against the paper before quoting elsewhere.
PAPER = {
    "takd_table2": {
        "source": "TAKD arXiv:1902.03393 Table 2 (not re-verified against the PDF in this session)",
        "cifar10": {"plain": {"NOKD": 70.16, "BLKD": 72.57, "TAKD": 73.51},
                    "resnet": {"NOKD": 88.52, "BLKD": 88.65, "TAKD": 88.98}},
        "cifar100": {"plain": {"NOKD": 41.09, "BLKD": 44.57, "TAKD": 44.92},
                     "resnet": {"NOKD": 61.37, "BLKD": 61.41, "TAKD": 61.82}},
    },
}

VERDICT_RULE = (
    "A claim 'A beats B' is *reproduced* when mean(A) - mean(B) > 2 standard errors "
    "(se = sqrt(sd_A^2/n_A + sd_B^2/n_B), sample sd over seeds), *not reproduced* when B beats A by that "
    "margin, and *inconclusive* otherwise or with fewer than 2 seeds per side."
)


def mean_std(values) -> tuple[float, float, int]:
    """(mean, sample sd, n); sd is nan for n < 2."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if len(v) == 0:
        return float("nan"), float("nan"), 0
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else float("nan"), len(v)


def fmt(values) -> str:
    m, s, n = mean_std(values)
    return f"{m:.2f} ± {s:.2f} (n={n})" if n > 1 else f"{m:.2f} (n={n})"


def verdict(a, b) -> str:
    """Does sample `a` beat sample `b`? See VERDICT_RULE."""
    ma, sa, na = mean_std(a)
    mb, sb, nb = mean_std(b)
    if na < 2 or nb < 2:
        return "inconclusive"
    se = math.sqrt(sa**2 / na + sb**2 / nb)
    diff = ma - mb
    if diff > 2 * se:
        return "reproduced"
    if diff < -2 * se:
        return "not reproduced"
    return "inconclusive"


def best_not_largest(acc_by_model: dict[str, list[float]], largest: str) -> str:
    """Verdict on 'the best teacher (or TA) is not the largest': reproduced when some other model's
    students beat the largest's by the rule; not reproduced when the largest's beat every other's."""
    means = {k: mean_std(v)[0] for k, v in acc_by_model.items()}
    best = max(means, key=means.get)
    if best != largest:
        return verdict(acc_by_model[best], acc_by_model[largest])
    others = [k for k in acc_by_model if k != largest]
    if others and all(verdict(acc_by_model[largest], acc_by_model[k]) == "reproduced" for k in others):
        return "not reproduced"
    return "inconclusive"


def inherited_mistake_rate(teacher_pred, student_pred, labels) -> float:
    """Of the images the teacher (or TA) gets wrong, the % the student gets wrong with the same label."""
    wrong = teacher_pred != labels
    if int(wrong.sum()) == 0:
        return float("nan")
    return float(100.0 * ((student_pred == teacher_pred) & wrong).sum() / wrong.sum())


def claim(name: str, paper: str, ours: str, verdict_: str, profile: str) -> dict:
    """One row of the claims table. No verdict is given on the smoke profile."""
    return dict(claim=name, paper=paper, ours=ours,
                verdict=verdict_ if profile != "smoke" else "not judged (smoke)")


def claims_markdown(claims: list[dict]):
    """The claims as a Markdown table, for a notebook's closing cell."""
    from IPython.display import Markdown

    lines = ["| claim | paper | ours | verdict |", "|---|---|---|---|"]
    lines += [f"| {c['claim']} | {c['paper']} | {c['ours']} | **{c['verdict']}** |" for c in claims]
    return Markdown("\n".join(lines))


def write_json(payload: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, sort_keys=True, default=float) + "\n")
    return path


def claims_table(results_dir: str | Path) -> list[dict]:
    rows = []
    for path in sorted(Path(results_dir).glob("*.json")):
        payload = json.loads(path.read_text())
        for c in payload.get("claims", []):
            rows.append(dict(notebook=path.stem, **c))
    return rows


def format_claims(rows: list[dict]) -> str:
    if not rows:
        return "no claims found"
    cols = ["notebook", "claim", "paper", "ours", "verdict"]
    widths = {c: min(60, max(len(c), *(len(str(r[c])) for r in rows))) for c in cols}
    line = lambda r: "  ".join(str(r[c])[:widths[c]].ljust(widths[c]) for c in cols)  # noqa: E731
    return "\n".join([line({c: c for c in cols}), line({c: "-" * widths[c] for c in cols}), *map(line, rows)])


def claims_markdown_file(rows: list[dict]) -> str:
    """The whole claims table as a Markdown document (results/claims.md), generated, never typed."""
    lines = ["# Claims: paper vs ours vs verdict", "", VERDICT_RULE, "",
             "| notebook | claim | paper | ours | verdict |", "|---|---|---|---|---|"]
    lines += [f"| {r['notebook']} | {r['claim']} | {r['paper']} | {r['ours']} | **{r['verdict']}** |" for r in rows]
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
