"""Pilot arithmetic: what a candidate students' / assistants' regime would cost the cpu profile's cold run,
priced by takdlib.budget from the census of the committed run (every training it made, by role) at the bf16
training rates measured on the 2-core Xeon (benchmarks/RESULTS.md, "bf16 vs fp32, whole trainings": images/s of
training steps; evaluation and notebook work come on top). Students and assistants share the candidate's regime,
so that a TA is compared with a student trained as it was.

    python benchmarks/pilots/regime_budget.py --cells 1000x8 2500x4 2500x8 allx4 --students-per-seed 1 3
"""
from __future__ import annotations

import argparse
from dataclasses import replace

from capacity_regime import cell_recipes, parse_cell
from takdlib import budget
from takdlib.profiles import PROFILES, get_profile

# bf16 training images/s on the 2-core Xeon with AMX (benchmarks/RESULTS.md, measured 2026-12-03)
RATES = {"plain2": 9633, "plain4": 4736, "plain6": 3713, "plain8": 3071, "plain10": 1046,
         "resnet8": 2678, "resnet14": 1609, "resnet20": 1190}


def candidate(images: int | None, epochs: int, students_per_seed: int) -> str:
    """Register the cpu profile with students and assistants in the cell's regime; its name."""
    name = f"cpu-{images or 'all'}x{epochs}-s{students_per_seed}"
    PROFILES[name] = replace(cell_recipes("cpu", images, epochs).profile, name=name,
                             students_per_seed=students_per_seed, evidence=False)
    return name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=["1000x8", "2500x4", "2500x8", "allx4"])
    parser.add_argument("--students-per-seed", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--census-of", nargs=2, metavar=("STORE", "PROFILE"),
                        help="count the trainings of PROFILE's models in STORE instead of the committed census, "
                             "e.g. a smoke run's store: every notebook as the code is now")
    parser.add_argument("--speed-up", nargs="+", default=[], metavar="ARCH=RATIO",
                        help="training-step speed-ups measured since RATES, e.g. the matmul weight gradient's "
                             "plain10=1.32 plain8=1.04 (benchmarks/RESULTS.md, 'Speed for the regime')")
    args = parser.parse_args()
    rates = dict(RATES)
    for item in args.speed_up:
        arch, ratio = item.split("=")
        rates[arch] *= float(ratio)
    if args.census_of:
        source, counts = args.census_of[1], budget.census(*args.census_of)
    else:
        source, counts = budget.read_census()
    rows = [("cpu (this design)", "cpu")]
    rows += [(f"{cell}, {k} student(s) per seed", candidate(*parse_cell(cell), k))
             for cell in args.cells for k in args.students_per_seed]
    print("| design | trainings | teachers s | assistants + students s | total s (training steps only) |")
    print("|---|---|---|---|---|")
    for label, name in rows:
        trs = budget.trainings(counts, source, name)
        regime = get_profile(name).teacher
        teach = sum(budget.seconds(t, rates) for t in trs
                    if t.images == (regime.data_for(t.arch).train_per_class or 4900) * 10 and t.augment)
        total = sum(budget.seconds(t, rates) for t in trs)
        print(f"| {label} | {len(trs)} | {teach:,.0f} | {total - teach:,.0f} | {total:,.0f} |")


if __name__ == "__main__":
    main()
