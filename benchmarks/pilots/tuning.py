"""Pilot: every method's learning rate from one grid by one rule (the regime issue: "every method tuned alike").

For each method and family, the student it trains (under the profile's chain heads, in the profile's students'
regime, or a candidate regime given as --cell) is trained at each rate of the grid on pilot seeds; the rule picks the rate of
highest mean final *validation* accuracy (ties: the smaller rate). Only the student's rate moves: its teacher and
TAs stay as the profile trains them. Prints the table and the `Tuning(...)` for takdlib/profiles.py.

Pilot seeds only (100-499, `takdlib.profiles.PILOT_SEEDS`; this pilot's range is 300-399).

    TAKD_DATA=... python benchmarks/pilots/tuning.py --store /tmp/pilot-store --seeds 300 301
"""
from __future__ import annotations

import argparse
from dataclasses import replace

from halved_design import design_recipes
from takdlib.methods import (AttentionSettings, DISTSettings, DKDSettings, FSPSettings, HintSettings,
                             LabelSmoothingSettings)
from takdlib.profiles import pilot_seed, recipes_for
from takdlib.recipes import Recipe, Recipes
from takdlib.stats import mean_std
from takdlib.store import Store

GRID = (0.02, 0.05, 0.1)
RULE = "highest mean final validation accuracy over the pilot seeds (ties: the smaller rate)"


def arms(R: Recipes, family: str):
    """{method name: seed -> the student recipe whose learning rate the grid moves} for one family."""
    p = R.profile
    chain = ["plain10", "plain4", "plain2"] if family == "plain" else list(p.resnet_chain)
    full = ["plain10", "plain8", "plain6", "plain4", "plain2"] if family == "plain" else chain
    head, student = chain[0], chain[-1]
    out = {"scratch": lambda s: R.scratch(student, s),
           "kd": lambda s: R.chain([head, student], s),
           "dgkd": lambda s: R.dgkd(full, s)}
    if family == "plain":  # the rivals of 09, on the plain chain only
        out.update({"ls": lambda s: R.scratch(student, s, method=LabelSmoothingSettings()),
                    "dkd": lambda s: R.distill(student, R.teacher(head, s), method=DKDSettings()),
                    "dist": lambda s: R.distill(student, R.teacher(head, s), method=DISTSettings())})
    else:  # 07's methods, on the ResNet student
        out.update({
            "hint": lambda s: R.fitnet(student, R.teacher(head, s), HintSettings(layers=(1, 1))),
            "at": lambda s: R.distill(student, R.teacher(head, s), method=AttentionSettings(weight=1000.0)),
            "fsp": lambda s: R.distill(student, R.teacher(head, s), method=FSPSettings(weight=1.0))})
    return out


def at_rate(recipe: Recipe, lr: float) -> Recipe:
    """The recipe with its own learning rate (FitNets: its hint stage's) set to lr; its guides unchanged."""
    if recipe.method.name == "kd" and recipe.init is not None:  # FitNets' stage 2: the grid moves stage 1
        return replace(recipe, init=replace(recipe.init, optim=replace(recipe.init.optim, lr=lr)))
    return replace(recipe, optim=replace(recipe.optim, lr=lr))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--cell", default=None, help="a candidate students' regime, IMAGESxEPOCHS (as capacity_regime.py)")
    parser.add_argument("--plain-teacher-cell", default=None,
                        help="with --cell: the plain teachers' IMAGESxEPOCHS (halved_design.py)")
    parser.add_argument("--resnet-teacher-cell", default=None,
                        help="with --cell: the ResNet teachers' IMAGESxEPOCHS (halved_design.py)")
    parser.add_argument("--seeds", type=pilot_seed, nargs="+", default=[300, 301])
    parser.add_argument("--families", nargs="+", default=["plain", "resnet"], choices=["plain", "resnet"])
    parser.add_argument("--methods", nargs="+", default=None, help="only these methods (default: all)")
    args = parser.parse_args()
    R = (design_recipes(args.profile, args.cell, args.plain_teacher_cell, args.resnet_teacher_cell) if args.cell
         else recipes_for(args.profile))
    store = Store(args.store, log=lambda s: None)
    rates = []
    for family in args.families:
        for method, make in arms(R, family).items():
            if args.methods and method not in args.methods:
                continue
            scores = {}
            for lr in GRID:
                vals = [store.get(at_rate(make(s), lr)).history["epochs"][-1]["val_acc"] for s in args.seeds]
                scores[lr] = round(mean_std(vals)[0], 3)  # % of 1,000 images, stored as float32: ties are exact
                print(f"{family} {method} lr {lr}: validation {scores[lr]:.2f} "
                      f"({', '.join(f'{v:.2f}' for v in vals)})", flush=True)
            best = max(GRID, key=lambda lr: (scores[lr], -lr))
            rates.append((method, family, best))
            print(f"  -> {family} {method}: lr {best}", flush=True)
    print(f"\nTuning(grid={GRID}, rule={RULE!r},\n       rates={tuple(rates)!r})")


if __name__ == "__main__":
    main()
