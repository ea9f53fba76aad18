"""Pilot: a cheaper cpu design, every role's regime halved, so that the cold run fits its two hours on the slower
2-core AMX Xeons (the frozen 1,000 x 8 design needs 2.6-3.3 hours there: benchmarks/PILOTS.md). Each model trained
alone in a candidate regime of its role; per cell, every architecture's final-epoch test accuracy per seed, the
paired difference of each adjacent pair of its chain, and the seconds it cost.

- students and assistants (one regime, no augmentation): `--student-cells`, e.g. 1000x4 500x8;
- plain teachers (crop + flip): `--plain-teacher-cells`, e.g. allx2 2500x4;
- ResNet teachers (crop + flip): `--resnet-teacher-cells`, e.g. 1000x6.

Pilot seeds only (100-499). Seeds run one after another over every cell, so a pilot stopped early still has whole
seeds; the store makes a re-run resume, and `tuning.py --cell` reuses its teachers on the same seeds.

    TAKD_DATA=... python benchmarks/pilots/halved_design.py --store /tmp/pilot-store --seeds 320 321 \\
        --student-cells 1000x4 500x8 --plain-teacher-cells allx2 --resnet-teacher-cells 1000x6
"""
from __future__ import annotations

import argparse
from dataclasses import replace

from capacity_regime import cell_recipes, parse_cell
from takdlib.profiles import get_profile, pilot_seed
from takdlib.recipes import Recipes
from takdlib.stats import compare, fmt
from takdlib.store import Store

STUDENTS = {"plain": ("plain2", "plain4", "plain6", "plain8"), "resnet": ("resnet8", "resnet14")}
TEACHERS = {"plain": ("plain4", "plain6", "plain8", "plain10"), "resnet": ("resnet14", "resnet20")}


def teacher_recipes(profile_name: str, family: str, images: int | None, epochs: int,
                    base: Recipes | None = None) -> Recipes:
    """The profile's recipe builders (or `base`'s) with one family's teachers moved to `images` per class and
    `epochs`."""
    p = base.profile if base else get_profile(profile_name)
    t = p.teacher
    if family == "plain":
        regime = replace(t, data=replace(t.data, train_per_class=images), plain=replace(t.plain, epochs=epochs),
                         resnet_data=t.data_for("resnet14"))
    else:
        regime = replace(t, resnet_data=replace(t.data_for("resnet14"), train_per_class=images),
                         resnet=replace(t.resnet, epochs=epochs))
    return Recipes(replace(p, name=f"{profile_name}-pilot", teacher=regime))


def design_recipes(profile_name: str, student_cell: str, plain_teacher_cell: str | None = None,
                   resnet_teacher_cell: str | None = None) -> Recipes:
    """A whole candidate design: the students' and assistants' cell, and each teacher family's cell if given."""
    R = cell_recipes(profile_name, *parse_cell(student_cell))
    for family, cell in (("plain", plain_teacher_cell), ("resnet", resnet_teacher_cell)):
        if cell:
            R = teacher_recipes(profile_name, family, *parse_cell(cell), base=R)
    return R


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--seeds", type=pilot_seed, nargs="+", default=[320, 321])
    parser.add_argument("--student-cells", nargs="*", default=["1000x4", "500x8"])
    parser.add_argument("--plain-teacher-cells", nargs="*", default=["allx2"])
    parser.add_argument("--resnet-teacher-cells", nargs="*", default=["1000x6"])
    args = parser.parse_args()
    store = Store(args.store, log=lambda s: None)
    cells = {}  # name -> (recipes, role, architectures)
    for c in args.student_cells:
        cells[f"students {c}"] = (cell_recipes(args.profile, *parse_cell(c)), "student",
                                  STUDENTS["plain"] + STUDENTS["resnet"])
    for family, given in (("plain", args.plain_teacher_cells), ("resnet", args.resnet_teacher_cells)):
        for c in given:
            cells[f"{family} teachers {c}"] = (teacher_recipes(args.profile, family, *parse_cell(c)), "teacher",
                                               TEACHERS[family])
    acc = {(c, a): {} for c, (_, _, archs) in cells.items() for a in archs}
    seconds = {key: 0.0 for key in acc}
    for seed in args.seeds:
        for c, (R, role, archs) in cells.items():
            for a in archs:
                trained = store.get(R.scratch(a, seed, role=role))
                acc[c, a][seed] = trained.summary["final_test_acc"]
                seconds[c, a] += trained.summary.get("train_seconds", 0.0)
                print(f"seed {seed} {c} {a}: {acc[c, a][seed]:.2f} % "
                      f"({trained.summary.get('train_seconds', 0):.0f} s)", flush=True)
        print(f"--- after seed {seed}", flush=True)
        for c, (_, _, archs) in cells.items():
            print(f"{c}: " + "; ".join(f"{a} {fmt(acc[c, a])} ({seconds[c, a]:.0f} s)" for a in archs))
            if len(acc[c, archs[0]]) >= 2:
                for small, big in zip(archs, archs[1:]):
                    if small[:5] == big[:5]:
                        print(f"  {big} - {small}: {compare(acc[c, big], acc[c, small]).text(big, small)}")
        print(flush=True)


if __name__ == "__main__":
    main()
