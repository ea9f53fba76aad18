"""The papers' numbers and the claims table (the verdict rules are `takdlib.claims`, their statistics
`takdlib.stats`).

PAPER holds every number quoted from the papers, each with its table and row; nothing else in the
project types a paper number.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .claims import KIND_TITLES, KINDS, counts_text
from .stats import VERDICT_RULE

# Every number below was checked against the papers' text (see PAPERS.md in the project's shared notes).
# Top-1 test accuracy (%), the papers' protocol: best test accuracy over epochs and over a hyperparameter search.
PAPER = {
    "takd_table1": {
        "source": "TAKD (Mirzadeh et al., AAAI 2020) Table 1: NOKD / BLKD / TAKD",
        "cifar10": {"plain": {"chain": ("plain10", "plain4", "plain2"), "NOKD": 70.16, "BLKD": 72.57, "TAKD": 73.51},
                    # Table 1's caption says 110 -> 20 -> 8; its TAKD value is Table 3's TA = resnet14 entry
                    "resnet": {"chain": ("resnet110", "resnet14", "resnet8"), "NOKD": 88.52, "BLKD": 88.65,
                               "TAKD": 88.98, "label": "Table 1; its TAKD value is Table 3's TA = resnet14 entry"}},
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

def _cell(text) -> str:
    """A Markdown table cell: pipes escaped, so text like |Δ| cannot split the row."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(rows: list[dict], columns: list[str], titles: list[str]) -> list[str]:
    lines = ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]
    for r in rows:
        cells = [f"**{_cell(r[c])}**" if c in ("verdict", "agreement") else _cell(r.get(c, "")) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


_COLUMNS = ["claim", "paper", "ours", "verdict", "power"]
_TITLES = ["claim", "paper", "ours", "verdict", "if undecided: what the design could call, and where it leans"]


def _by_kind(rows: list[dict]) -> list[tuple[str, list[dict]]]:
    return [(KIND_TITLES[k], [r for r in rows if r.get("kind", "paper") == k]) for k in KIND_TITLES
            if any(r.get("kind", "paper") == k for r in rows)]


def claims_markdown(claims: list[dict]):
    """A notebook's claims as Markdown tables, one per kind of row (paper claims, setup checks, our questions)."""
    from IPython.display import Markdown

    lines = [counts_text(claims), ""]
    for title, rows in _by_kind(claims):
        lines += [f"**{title.capitalize()}**", "", *_table(rows, _COLUMNS, _TITLES), ""]
    return Markdown("\n".join(lines))


def claims_table(results_dir: str | Path) -> list[dict]:
    rows = []
    for path in sorted(Path(results_dir).glob("*.json")):
        payload = json.loads(path.read_text())
        for c in payload.get("claims", []):
            rows.append(dict(notebook=path.stem, **{"power": "", "kind": "paper", **c}))
    return rows


def format_claims(rows: list[dict]) -> str:
    """The claims table as plain text for a terminal, with its counts per kind of row."""
    if not rows:
        return "no claims found"
    cols = ["notebook", "kind", "claim", "ours", "verdict"]
    widths = {c: min(60, max(len(c), *(len(str(r.get(c, ""))) for r in rows))) for c in cols}
    line = lambda r: "  ".join(str(r.get(c, ""))[:widths[c]].ljust(widths[c]) for c in cols)  # noqa: E731
    return "\n".join([line({c: c for c in cols}), line({c: "-" * widths[c] for c in cols}), *map(line, rows),
                      counts_text(rows)])


def claims_markdown_file(rows: list[dict]) -> str:
    """The whole claims table as a Markdown document (results/claims.md), generated, never typed: the rule,
    the counts per kind of row, then one table per kind."""
    words = "; ".join(f"{k}: {' / '.join(w)}" for k, w in KINDS.items())
    lines = ["# Claims: paper vs ours vs verdict", "", VERDICT_RULE, "",
             f"Three kinds of row, each with its own words ({words}); the rules are `takdlib.claims`.", "",
             counts_text(rows) + ".", ""]
    for title, mine in _by_kind(rows):
        lines += [f"## {title.capitalize()}", "", *_table(mine, ["notebook", *_COLUMNS], ["notebook", *_TITLES]), ""]
    return "\n".join(lines)


def replication(committed: list[dict], replicated: list[dict]) -> tuple[str, int, int]:
    """Each committed row beside the same row (notebook and claim) of a replication on fresh seeds:
    (a Markdown table, rows that agree, rows compared). Rows judged in only one run are listed, not counted."""
    theirs = {(r["notebook"], r["claim"]): r for r in replicated}
    rows, agree, compared = [], 0, 0
    for r in committed:
        other = theirs.pop((r["notebook"], r["claim"]), None)
        same = other is not None and other["verdict"] == r["verdict"]
        if other is not None:
            compared += 1
            agree += same
        rows.append(dict(notebook=r["notebook"], kind=r.get("kind", "paper"), claim=r["claim"], committed=r["verdict"],
                         replicated=other["verdict"] if other else "—",
                         agreement="agree" if same else "disagree" if other else "not replicated"))
    rows += [dict(notebook=r["notebook"], kind=r.get("kind", "paper"), claim=r["claim"], committed="—",
                  replicated=r["verdict"], agreement="not committed") for r in theirs.values()]
    columns = ["notebook", "kind", "claim", "committed", "replicated", "agreement"]
    lines = [f"{agree} of {compared} rows agree.", "", *_table(rows, columns, columns)]
    return "\n".join(lines) + "\n", agree, compared


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
