"""The claims table: every notebook's verdict rows, rendered for the terminal and as Markdown, and a
replication set beside the committed verdicts (the rules are `takdlib.claims`, the papers' numbers
`takdlib.papers`)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .claims import KIND_TITLES, KINDS, counts_text
from .files import quote_in, quoted
from .stats import VERDICT_RULE

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


def _columns(rows: list[dict]) -> tuple[list[str], list[str]]:
    """The table's columns: the premises a claim rests on, where any of these rows names them."""
    if not any(r.get("premises") for r in rows):
        return _COLUMNS, _TITLES
    return ([*_COLUMNS[:3], "premises", *_COLUMNS[3:]],
            [*_TITLES[:3], "rests on (setup checks)", *_TITLES[3:-1],
             "if undecided: what the design could call, and where it leans; if not testable: why"])


def _by_kind(rows: list[dict]) -> list[tuple[str, list[dict]]]:
    return [(KIND_TITLES[k], [r for r in rows if r.get("kind", "paper") == k]) for k in KIND_TITLES
            if any(r.get("kind", "paper") == k for r in rows)]


def claims_markdown(claims: list[dict]):
    """A notebook's claims as Markdown tables, one per kind of row (paper claims, setup checks, our questions)."""
    from IPython.display import Markdown

    lines = [counts_text(claims), ""]
    for title, rows in _by_kind(claims):
        lines += [f"**{title.capitalize()}**", "", *_table(rows, *_columns(rows)), ""]
    return Markdown("\n".join(lines))


def row(claims: list[dict], part: str) -> dict:
    """The one row of `claims` whose claim contains `part` (ValueError naming the claims where none or several
    do): how a notebook's discussion refers to a row."""
    found = [c for c in claims if part in c["claim"]]
    if len(found) != 1:
        raise ValueError(f"{len(found)} claims contain {part!r}; the claims are: "
                         + "; ".join(repr(c["claim"]) for c in claims))
    return found[0]


def said(claims: list[dict], part: str) -> str:
    """The verdict and the numbers of the row whose claim contains `part`, as Markdown, e.g. "**reproduced**
    (TAKD 54.05 ± 0.50 (n=4); ...)": what a notebook's "What this shows" quotes, so that none of its numbers or
    verdict words is typed."""
    r = row(claims, part)
    return f"**{r['verdict']}** ({r['ours']})"


def verdict(claims: list[dict], part: str) -> str:
    """The verdict word of the row whose claim contains `part`."""
    return row(claims, part)["verdict"]


TWIN_COLUMN = "fp32 twin"
TWIN_FILE = "fp32_twin.json"  # beside a run's results: its fp32 twin's rows (`python -m takdlib.report --twin`)


def _results(results_dir: str | Path) -> list[tuple[Path, dict]]:
    """Every notebook's results file under results_dir, parsed; a file that cannot be read is named."""
    out = []
    for path in sorted(Path(results_dir).glob("*.json")):
        if path.name in ("manifest.json", "census.json", TWIN_FILE):
            continue
        try:
            out.append((path, json.loads(path.read_text())))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"results file {path} cannot be read: {err}") from None
    return out


def claims_table(results_dir: str | Path) -> list[dict]:
    rows = []
    for path, payload in _results(results_dir):
        for c in payload.get("claims", []):
            rows.append(dict(notebook=path.stem, **{"power": "", "kind": "paper", **c}))
    return rows


def recorded_rule(results_dir: str | Path) -> str:
    """The verdict rule the results were judged by, as their run recorded it (the current one if none did)."""
    rules = {payload["verdict_rule"] for _, payload in _results(results_dir) if payload.get("verdict_rule")}
    if len(rules) > 1:
        raise ValueError(f"the results under {results_dir} were judged by {len(rules)} different verdict rules: "
                         "they are not one run's evidence")
    return rules.pop() if rules else VERDICT_RULE


def format_claims(rows: list[dict]) -> str:
    """The claims table as plain text for a terminal, with its counts per kind of row."""
    if not rows:
        return "no claims found"
    cols = ["notebook", "kind", "claim", "ours", "verdict"]
    widths = {c: min(60, max(len(c), *(len(str(r.get(c, ""))) for r in rows))) for c in cols}
    line = lambda r: "  ".join(str(r.get(c, ""))[:widths[c]].ljust(widths[c]) for c in cols)  # noqa: E731
    return "\n".join([line({c: c for c in cols}), line({c: "-" * widths[c] for c in cols}), *map(line, rows),
                      counts_text(rows)])


def claims_markdown_file(rows: list[dict], rule: str = VERDICT_RULE, twin: list[dict] | None = None) -> str:
    """The whole claims table as a Markdown document (results/claims.md), generated, never typed: the rule
    the rows were judged by, the counts per kind of row, then one table per kind. `twin`: the rows of the same
    design and seeds run in fp32 (`cpu_fp32`), whose verdict then stands beside each: a row where the two differ
    moves with precision."""
    words = "; ".join(f"{k}: {' / '.join(w)}" for k, w in KINDS.items())
    lines = ["# Claims: paper vs ours vs verdict", "", rule, "",
             f"Three kinds of row, each with its own words ({words}); the rules are `takdlib.claims`.", "",
             counts_text(rows) + ".", ""]
    if twin is not None:
        rows, agree, compared = beside(rows, twin, TWIN_COLUMN)
        lines += [f"Beside each verdict, the fp32 twin's: the same design on the same seeds in fp32. {agree} of "
                  f"{compared} rows agree; a row where they differ is fragile to precision.", ""]
    for title, mine in _by_kind(rows):
        columns, titles = _columns(mine)
        if twin is not None:
            at = columns.index("verdict") + 1
            columns, titles = [*columns[:at], TWIN_COLUMN, *columns[at:]], [*titles[:at], TWIN_COLUMN, *titles[at:]]
        lines += [f"## {title.capitalize()}", "", *_table(mine, ["notebook", *columns], ["notebook", *titles]), ""]
    return "\n".join(lines)


def seeds_of(results_dir: str | Path) -> set[tuple[int, ...]]:
    """The seeds every notebook's results under results_dir were made on (one set when they are one run's)."""
    return {tuple(payload.get("seeds", ())) for _, payload in _results(results_dir)}


def claims_file_for(results_dir: str | Path) -> str:
    """results/claims.md as the results under results_dir make it, with the fp32 twin's verdicts beside them
    where the results hold its rows (TWIN_FILE)."""
    twin_file = Path(results_dir) / TWIN_FILE
    twin = json.loads(twin_file.read_text())["claims"] if twin_file.exists() else None
    return claims_markdown_file(claims_table(results_dir), recorded_rule(results_dir), twin)


def keep_twin(results_dir: str | Path, twin_dir: str | Path) -> Path:
    """Copy the claims of a run's fp32 twin (results under twin_dir) into results_dir's TWIN_FILE, so that its
    claims.md sets them beside each verdict. ValueError if the twin ran other seeds: then no row is like its twin."""
    from .files import write_json

    theirs, ours = seeds_of(twin_dir), seeds_of(results_dir)
    if theirs != ours:
        raise ValueError(f"the results under {twin_dir} were made on seeds {sorted(theirs)}, those under "
                         f"{results_dir} on {sorted(ours)}: a twin runs the same seeds")
    path = Path(results_dir) / TWIN_FILE
    write_json({"seeds": sorted(theirs), "claims": claims_table(twin_dir)}, path)
    return path


def beside(rows: list[dict], others: list[dict], column: str) -> tuple[list[dict], int, int]:
    """Each row with the verdict of the same row (notebook and claim) of another run under `column` ("—" where
    that run has no such row): (the rows, rows whose verdicts agree, rows compared)."""
    theirs = {(r["notebook"], r["claim"]): r["verdict"] for r in others}
    out, agree, compared = [], 0, 0
    for r in rows:
        other = theirs.get((r["notebook"], r["claim"]))
        compared += other is not None
        agree += other == r["verdict"]
        out.append({**r, column: "—" if other is None else other})
    return out, agree, compared


def replication(committed: list[dict], replicated: list[dict]) -> tuple[str, int, int]:
    """Each committed row beside the same row (notebook and claim) of a replication on fresh seeds:
    (a Markdown table, rows that agree, rows compared). Rows judged in only one run are listed, not counted."""
    marked, agree, compared = beside(committed, replicated, "replicated")
    ours = {(r["notebook"], r["claim"]) for r in committed}
    rows = [dict(notebook=r["notebook"], kind=r.get("kind", "paper"), claim=r["claim"], committed=r["verdict"],
                 replicated=r["replicated"],
                 agreement="not replicated" if r["replicated"] == "—" else
                 "agree" if r["replicated"] == r["verdict"] else "disagree") for r in marked]
    rows += [dict(notebook=r["notebook"], kind=r.get("kind", "paper"), claim=r["claim"], committed="—",
                  replicated=r["verdict"], agreement="not committed")
             for r in replicated if (r["notebook"], r["claim"]) not in ours]
    columns = ["notebook", "kind", "claim", "committed", "replicated", "agreement"]
    lines = [f"{agree} of {compared} rows agree.", "", *_table(rows, columns, columns)]
    return "\n".join(lines) + "\n", agree, compared


# what a measured row holds besides its labels (takdlib.experiment.Experiment.measure)
_MEASURED = {"seed", "acc", "val_selected", "best_test", "students", "student_accs", "train_seconds", "agreement",
             "kl"}


def check(committed: dict, checked: dict) -> tuple[str, int, int]:
    """Each measured row of a check run (one notebook, one evidence seed, on another machine) beside the committed
    row with the same labels and seed, with the committed rows' spread over seeds for scale: (a Markdown table,
    rows within one committed sd, rows compared). Accuracies in %."""
    import statistics

    rows = []
    for field, records in checked.items():
        if not (isinstance(records, list) and records and isinstance(records[0], dict) and "acc" in records[0]):
            continue
        for r in records:
            labels = {k: v for k, v in r.items() if k not in _MEASURED}
            same = [c for c in committed.get(field, []) if {k: c.get(k) for k in labels} == labels]
            mine = [c for c in same if c.get("seed") == r["seed"]]
            if not mine or r["acc"] is None or mine[0]["acc"] is None:
                continue
            sd = statistics.stdev(c["acc"] for c in same) if len(same) > 1 else float("nan")
            diff = r["acc"] - mine[0]["acc"]
            rows.append(dict(table=field, row=", ".join(str(v) for v in labels.values()), seed=r["seed"],
                             committed=f"{mine[0]['acc']:.2f}", here=f"{r['acc']:.2f}", difference=f"{diff:+.2f}",
                             sd=f"{sd:.2f}", within="yes" if abs(diff) <= sd else "no"))
    within = sum(r["within"] == "yes" for r in rows)
    columns = ["table", "row", "seed", "committed", "here", "difference", "sd", "within"]
    titles = ["table", "row", "seed", "committed %", "this machine %", "difference", "committed sd over seeds",
              "within one sd"]
    lines = [f"{within} of {len(rows)} rows lie within one committed sd over seeds of the committed value.", "",
             *_table(rows, columns, titles)]
    return "\n".join(lines) + "\n", within, len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print every notebook's claims: paper vs ours vs verdict.")
    parser.add_argument("results_dir", nargs="?", default=None,
                        help="a run's results/ folder (default: the committed evidence's)")
    parser.add_argument("--markdown", action="store_true", help="also write <results_dir>/claims.md")
    parser.add_argument("--twin", metavar="DIR", help="keep the verdicts of the same design and seeds in fp32 "
                        "(DIR: runs/cpu_fp32/results after ./run_all.sh --profile cpu_fp32) beside each row of "
                        "claims.md (implies --markdown; then reseal: python -m takdlib.evidence --seal)")
    parser.add_argument("--readme", metavar="PATH", help="quote the counts of these results in this README "
                        "(between its <!-- counts --> and <!-- /counts -->)")
    args = parser.parse_args(argv)
    from .locations import REPO_ROOT

    results_dir = Path(args.results_dir) if args.results_dir else REPO_ROOT / "results"
    print(format_claims(claims_table(results_dir)))
    if args.twin:
        print(f"the fp32 twin's verdicts kept in {keep_twin(results_dir, args.twin)}")
    if args.markdown or args.twin:
        (results_dir / "claims.md").write_text(claims_file_for(results_dir))
    if args.readme:
        quote_in(args.readme, "counts", counts_text(claims_table(results_dir)))
        print(f"{args.readme} quotes: {quoted(Path(args.readme).read_text(), 'counts')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
