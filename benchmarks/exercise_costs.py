"""What each notebook's "Try this" exercise costs on this machine, and whether its instructions still apply.

An exercise is its notebook with the edit its text asks for (EXERCISES: code replaced in a code cell, each
old text found exactly once, else the exercise's instructions are stale and the run stops), executed as
run_all.sh executes notebooks, on a hard-linked copy of a warm store (one the profile has already run on for
these seeds), so each exercise is priced alone: the models it trains, their seconds, and the notebook's wall
time beside the unedited notebook's on the same warm store. Exercises that only read a notebook, or need more
seeds than given, are listed as such and not run.

    python benchmarks/exercise_costs.py --store <warm store> --seeds 400 --data $TAKD_DATA [--only 05_distilled_ta]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from takdlib.machine import cpu_model  # noqa: E402
from takdlib.runner import run_notebooks  # noqa: E402
from takdlib.train import PROGRESS_ENV  # noqa: E402

READ = "reading: nothing to run"

# notebook -> [(the exercise, in short; "or ..." for another variant of the one before), [(old, new), ...] or why
# it is not run]
EXERCISES: dict[str, list[tuple[str, list[tuple[str, str]] | str]]] = {
    "00_primer": [
        ("tau = 1.0 in section 1", [("tau, lam = 4.0, 0.5", "tau, lam = 1.0, 0.5")]),
        ("add τ = 20 in section 2", [("taus = [1, 2, 4, 8]", "taus = [1, 2, 4, 8, 20]")]),
        ("keep probability 0.25 in section 4",
         [("bernoulli_keep(len(guides), 0.75,", "bernoulli_keep(len(guides), 0.25,")]),
    ],
    "01_gap": [
        ("drop plain6 from the teachers", [('plain_teachers = ["plain4", "plain6", "plain8", "plain10"]',
                                           'plain_teachers = ["plain4", "plain8", "plain10"]')]),
        ("seeds = [0, 1]", "fewer seeds than the store holds: trains nothing"),
        ("profile cpu_fp32", "retrains the notebook in fp32: the cpu_fp32 design's cost (README)"),
    ],
    "02_takd": [
        ("the chain plain10 → plain6 → plain2", [('chains = {"plain": ["plain10", "plain4", "plain2"]',
                                                 'chains = {"plain": ["plain10", "plain6", "plain2"]')]),
        ("the augmented regime on every seed", "trains the side arm on seeds past the first two: needs them"),
        ("elementmean against batchmean", READ),
    ],
    "03_ta_size": [
        ("the midpoint from plain2 in the students' regime",
         [('alone_by_seed = by_seed(df[df.role == "student-alone-ta-data"])',
           'alone_by_seed = by_seed(df[df.role == "student-alone"])')]),
        ("without plain8", [('tas = ["plain8", "plain6", "plain4"]', 'tas = ["plain6", "plain4"]')]),
        ("the TAs' own accuracies", READ),
    ],
    "04_paths": [
        ("paths scored on the test set", [('score_on = "val_acc" if P.data.val_per_class else "test_acc"',
                                           'score_on = "test_acc"')]),
        ("the searches' trainings", READ),
        ("a table without optimal substructure", "written by the student (tests/test_claims.py)"),
    ],
    "05_distilled_ta": [
        ("plain8 in the TA loop", [('    for ta in ("plain4", "plain6"):\n        tas = {',
                                    '    for ta in ("plain4", "plain6", "plain8"):\n        tas = {')]),
        ("the TAs' accuracies beside their students'", READ),
        ("the scratch TA trained as a teacher", [('"scratch TA": R.scratch(ta, seed, role="assistant")',
                                                 '"scratch TA": R.scratch(ta, seed, role="teacher")')]),
    ],
    "06_dgkd": [
        ("keep_prob = 0.5", [("keep_prob=0.75", "keep_prob=0.5")]),
        ("or drop_num = 2", [("drop_num=1", "drop_num=2")]),
        ("DGKD (lr ÷ guides) against TAKD", READ),
        ("the avalanche against the teacher", [('test_labels(r["TAKD"].guides[0])',
                                                'test_labels(r["TAKD"].guides[0].guides[0].guides[0].guides[0])')]),
    ],
    "07_fitnets": [
        ("an earlier hint, layers (0, 0)", [("HintSettings(layers=(1, 1))", "HintSettings(layers=(0, 0))")]),
        ("hint_epochs = 3", [('({"method": "FitNets"}, R.student_seeds(R.fitnet(student, head, hint)))',
                              '({"method": "FitNets"}, R.student_seeds(R.fitnet(student, head, hint, hint_epochs=3)))')]),
        ("AT's β = 100", [("AttentionSettings(weight=1000.0)", "AttentionSettings(weight=100.0)")]),
        ("or FSP's λ = 10", [("FSPSettings(weight=1.0)", "FSPSettings(weight=10.0)")]),
    ],
    "08_landscape": [
        ("radius 0.25", [("key = dict(images, seed=1000 + s, radius=0.5,", "key = dict(images, seed=1000 + s, radius=0.25,"),
                         ("metric, seed=1000 + s, directions=", "metric, seed=1000 + s, radius=0.25, directions=")]),
        ("another seed's surfaces", "needs a store with a second seed"),
        ("a barrier between two NOKD students", "written by the student"),
    ],
    "09_rivals": [
        ("label smoothing ε = 0.3", [("LabelSmoothingSettings())", "LabelSmoothingSettings(smoothing=0.3))")]),
        ("the teacher stopped after epoch 3", [("early_stopped(T, halfway)", "early_stopped(T, 3)")]),
        ("the TA plain6", [('head_arch, ta_arch, student = "plain10", "plain4", "plain2"',
                            'head_arch, ta_arch, student = "plain10", "plain6", "plain2"')]),
    ],
}


def edited(notebook: Path, edits: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """The notebook with each old text replaced; an old text found other than once in its code cells is an error."""
    nb = nbformat.read(notebook, as_version=4)
    for old, new in edits:
        cells = [c for c in nb.cells if c.cell_type == "code" and old in c.source]
        found = sum(c.source.count(old) for c in cells)
        if found != 1:
            raise ValueError(f"{notebook.stem}: {old!r} is in its code {found} times, not once: the exercise's "
                             "instructions no longer match the notebook")
        cells[0].source = cells[0].source.replace(old, new)
    return nb


def run(nb: nbformat.NotebookNode, stem: str, warm_store: Path, params: dict, profile: str) -> dict:
    """Execute `nb` on a hard-linked copy of `warm_store`: wall seconds, models trained, their seconds, failed."""
    with tempfile.TemporaryDirectory(prefix="takd-exercise-") as tmp:
        tmp = Path(tmp)
        store = tmp / "store"
        shutil.copytree(warm_store, store, copy_function=os.link)  # new models land in the copy only
        path = tmp / f"{stem}.ipynb"
        nbformat.write(nb, path)
        (tmp / "executed").mkdir()
        timings, split, failed = run_notebooks(
            [path], {**params, "store": str(store), "out_dir": str(tmp / "out")},
            SimpleNamespace(profile=profile, timeout=None), tmp / "executed", store)
        trained = sum(t for archs in split[stem]["train"].values() for t in archs.values())
        return {"wall": timings[stem], "models": split[stem]["trained"], "train": round(trained, 1),
                "failed": bool(failed)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, required=True, help="a store the profile has run on for --seeds")
    parser.add_argument("--seeds", type=int, nargs="+", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--only", nargs="+", default=sorted(EXERCISES), choices=sorted(EXERCISES))
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    os.environ[PROGRESS_ENV] = "log"  # as run_all.sh: log lines in the kernels, no widgets
    params = {"profile": args.profile, "seeds": args.seeds, "data": args.data}
    rows = []
    for stem in args.only:
        notebook = REPO / "notebooks" / f"{stem}.ipynb"
        warm = run(nbformat.read(notebook, as_version=4), stem, args.store, params, args.profile)
        rows.append({"notebook": stem, "exercise": "(as committed)", **warm})
        for title, edits in EXERCISES[stem]:
            if isinstance(edits, str):
                rows.append({"notebook": stem, "exercise": title, "not run": edits})
                continue
            result = run(edited(notebook, edits), stem, args.store, params, args.profile)
            rows.append({"notebook": stem, "exercise": title, **result, "beyond warm": round(result["wall"] - warm["wall"], 1)})
    print(f"\nCPU: {cpu_model()} ({platform.machine()}); profile {args.profile}, seeds {args.seeds}, warm store\n")
    print("| notebook | exercise | models trained | their s | wall s | beyond the warm notebook, s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        if "not run" in r:
            print(f"| {r['notebook']} | {r['exercise']} | not run: {r['not run']} | | | |")
        else:
            status = " (FAILED)" if r["failed"] else ""
            print(f"| {r['notebook']} | {r['exercise']}{status} | {r['models']} | {r['train']:.0f} | {r['wall']:.0f} | "
                  f"{r.get('beyond warm', 0):.0f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 1 if any(r.get("failed") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
