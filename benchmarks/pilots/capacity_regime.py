"""Pilot: in which students' / assistants' regime does capacity bind? Models trained alone (cross-entropy, no
augmentation unless a cell says +aug, the cpu profile's optimiser for their family) on candidate (images per
class, epochs) cells; for each cell, every architecture's final-epoch test accuracy per seed, the paired
difference of each adjacent pair of the plain chain (plain2 < plain4 < plain6 < plain8) and the ResNet chain
(resnet8 < resnet14), and the seconds it cost. The regime issue asks for the cheapest cell where a larger
model is the more accurate one.

Pilot seeds only (100-499, `takdlib.profiles.PILOT_SEEDS`). Seeds run one after another over every
cell, so a pilot stopped early still has whole seeds; the store makes a re-run resume.

    TAKD_DATA=... python benchmarks/pilots/capacity_regime.py --store /tmp/pilot-store --seeds 200 201 202 \\
        --cells 1000x8 1000x16 2500x8 allx4 1000x8+aug
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace

from takdlib.profiles import get_profile, pilot_seed
from takdlib.recipes import Recipes
from takdlib.stats import compare, fmt
from takdlib.store import Store

CHAINS = {"plain": ("plain2", "plain4", "plain6", "plain8"), "resnet": ("resnet8", "resnet14")}


AUGMENTED = "+aug"  # a cell's suffix: its images cropped and flipped (random crop, pad 4, + flip) every epoch


def parse_cell(text: str) -> tuple[int | None, int]:
    """'1000x8' -> (1000, 8) images per class and epochs; 'allx4' -> (None, 4): every training image. A trailing
    '+aug' (`cell_augments`) is not part of the pair."""
    images, epochs = text.lower().removesuffix(AUGMENTED).split("x")
    return (None if images == "all" else int(images)), int(epochs)


def cell_augments(text: str) -> bool:
    """Whether a cell ('1000x8+aug') crops and flips its training images."""
    return text.lower().endswith(AUGMENTED)


def cell_recipes(profile_name: str, images: int | None, epochs: int, augment: bool = False) -> Recipes:
    """The profile's recipe builders with its students' and assistants' regime (one regime: a TA is compared
    with a student trained as it was) moved to `images` per class and `epochs`, cropped and flipped if
    `augment`."""
    p = get_profile(profile_name)
    s = p.student
    learn = replace(s, data=replace(s.data, train_per_class=images, augment=augment), resnet_data=None,
                    plain=replace(s.plain, epochs=epochs), resnet=replace(s.resnet, epochs=epochs))
    return Recipes(replace(p, name=f"{p.name}-pilot", student=learn, assistant=learn))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--seeds", type=pilot_seed, nargs="+", default=[200, 201, 202])
    parser.add_argument("--cells", nargs="+", default=["1000x8", "1000x16", "2500x8", "allx4"],
                        help="IMAGESxEPOCHS[+aug] per cell: images per class (or 'all'), epochs, and +aug "
                             "for crop + flip")
    parser.add_argument("--families", nargs="+", default=list(CHAINS), choices=list(CHAINS))
    args = parser.parse_args()
    store = Store(args.store, log=lambda s: None)
    cells = {c: cell_recipes(args.profile, *parse_cell(c), augment=cell_augments(c)) for c in args.cells}
    archs = [a for f in args.families for a in CHAINS[f]]
    acc = {(c, a): {} for c in cells for a in archs}
    seconds = {(c, a): 0.0 for c in cells for a in archs}
    for seed in args.seeds:
        for c, R in cells.items():
            for a in archs:
                t0 = time.perf_counter()
                trained = store.get(R.scratch(a, seed))
                acc[c, a][seed] = trained.summary["final_test_acc"]
                seconds[c, a] += trained.summary.get("train_seconds", time.perf_counter() - t0)
                print(f"seed {seed} cell {c} {a}: {acc[c, a][seed]:.2f} % "
                      f"({trained.summary.get('train_seconds', 0):.0f} s)", flush=True)
        print(f"--- after seed {seed}", flush=True)
        for c in cells:
            print(f"cell {c}: " + "; ".join(f"{a} {fmt(acc[c, a])} ({seconds[c, a]:.0f} s)" for a in archs))
            if len(acc[c, archs[0]]) >= 2:
                for f in args.families:
                    for small, big in zip(CHAINS[f], CHAINS[f][1:]):
                        print(f"  {big} - {small}: {compare(acc[c, big], acc[c, small]).text(big, small)}")
        print(flush=True)


if __name__ == "__main__":
    main()
