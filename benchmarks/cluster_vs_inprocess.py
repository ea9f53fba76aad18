"""One notebook from an empty store, twice: trained in the notebook's process (torch's threads = the cores)
and on a Dask LocalCluster of single-thread workers (`--cluster local:N`). Prints both wall times, their
ratio, and how far apart the two runs' accuracies are. They are the same recipes, but the notebook's process
trains with as many torch threads as cores and each worker with one: a reduction split over two threads adds in
another order, so the weights, and the accuracies' last digits, differ (tests/test_cluster.py checks the bitwise
equality at equal thread counts).

python benchmarks/cluster_vs_inprocess.py [--notebook 01_gap] [--seeds 0] [--workers 2] [--profile cpu]
    [--teachers-from STORE]

Both runs share the decoded-image cache ($TAKD_CACHE) and nothing else; each gets a fresh store and output
folder, empty, or with `--teachers-from` holding a copy of STORE's teachers (the models of role "teacher", as
01_gap leaves them), so that a notebook after 01 times its own trainings only. Run it on an otherwise idle
machine: two runs at once would time each other.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import shutil
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(notebook: str, profile: str, seeds: list[int], cluster: str | None, work: Path) -> tuple[float, dict]:
    cmd = [str(REPO / "run_all.sh"), "--profile", profile, "--only", notebook, "-p", "seeds", json.dumps(seeds),
           "-p", "store", str(work / "store"), "-p", "out_dir", str(work / "out")]
    if cluster:
        cmd += ["--cluster", cluster]
    started = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHON=sys.executable))
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    payload = json.loads((work / "out" / "results" / f"{notebook}.json").read_text())
    measured = ("acc", "val_selected", "best_test", "train_seconds", "agreement", "kl", "student_accs")
    accuracies = {json.dumps([key, {k: v for k, v in row.items() if k not in measured}], sort_keys=True): row["acc"]
                  for key, rows in payload.items() if isinstance(rows, list)
                  for row in rows if isinstance(row, dict) and "acc" in row}
    return wall, accuracies


def copy_teachers(source: Path, store: Path) -> int:
    """Copy every model folder of store `source` whose recipe is a teacher's into `store`; returns how many."""
    copied = 0
    for recipe in sorted(source.glob("*/*/recipe.json")):
        if json.loads(recipe.read_text()).get("role") == "teacher" and (recipe.parent / "model.pt").exists():
            shutil.copytree(recipe.parent, store / recipe.parent.relative_to(source))
            copied += 1
    return copied


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebook", default="01_gap")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--teachers-from", type=Path, help="a store whose teachers each run starts with")
    args = parser.parse_args(argv)
    cores = os.cpu_count()
    start = "an empty store" if args.teachers_from is None else f"a store holding {args.teachers_from}'s teachers"
    print(f"{args.notebook}, profile {args.profile}, seeds {args.seeds}, from {start}; {cores} cores")
    walls, results = {}, {}
    for label, cluster in (("in-process", None), (f"local:{args.workers}", f"local:{args.workers}")):
        with tempfile.TemporaryDirectory() as tmp:
            if args.teachers_from is not None:
                print(f"  {copy_teachers(args.teachers_from, Path(tmp) / 'store')} teachers copied", flush=True)
            walls[label], results[label] = run(args.notebook, args.profile, args.seeds, cluster, Path(tmp))
        print(f"  {label:>12}: {walls[label]:7.1f} s", flush=True)
    (a, b) = walls
    print(f"in-process / {b} wall-time ratio: {walls[a] / walls[b]:.2f}x")
    if results[a].keys() != results[b].keys():
        raise SystemExit("the two runs measured different recipes")
    gaps = [abs(results[a][k] - results[b][k]) for k in results[a]]
    print(f"accuracies: {sum(g == 0 for g in gaps)} of {len(gaps)} rows identical; largest difference "
          f"{max(gaps):.2f} points, mean {sum(gaps) / len(gaps):.2f} (2 threads vs 1: see the docstring)")


if __name__ == "__main__":
    main()
