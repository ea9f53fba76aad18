"""Pilot: how long must the cpu profile's ResNet TA (resnet14, assistant regime) train to sit between its
teacher (resnet20) and the resnet8 student taught straight by the teacher (BLKD)?

Pilot seeds only (100-499, `takdlib.profiles.PILOT_SEEDS`). Prints, per TA length, the teacher's,
the TA's and the students' final-epoch test accuracy per seed, and the paired TAKD - BLKD difference.

    TAKD_DATA=... python benchmarks/pilots/resnet_ta.py --store /tmp/pilot-store --seeds 100 101 102 --epochs 3 8
"""
from __future__ import annotations

import argparse
from dataclasses import replace

from takdlib.profiles import pilot_seed, recipes_for
from takdlib.stats import compare, fmt
from takdlib.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--seeds", type=pilot_seed, nargs="+", default=[100, 101, 102])
    parser.add_argument("--epochs", type=int, nargs="+", default=[3, 8], help="TA epochs to try")
    args = parser.parse_args()
    R = recipes_for(args.profile)  # the profile's recipe builders
    store = Store(args.store, log=lambda s: None)
    acc = lambda r: store.get(r).summary["final_test_acc"]  # noqa: E731
    head, nokd, blkd = {}, {}, {}
    for s in args.seeds:
        T = R.teacher("resnet20", s)
        head[s], nokd[s] = acc(T), acc(R.scratch("resnet8", s))
        blkd[s] = acc(R.distill("resnet8", T))
    print(f"teacher resnet20 {fmt(head)}; resnet8 alone {fmt(nokd)}; BLKD {fmt(blkd)}")
    for epochs in args.epochs:
        ta, takd = {}, {}
        for s in args.seeds:
            ta_recipe = R.distill("resnet14", R.teacher("resnet20", s), role="assistant")
            ta_recipe = replace(ta_recipe, optim=replace(ta_recipe.optim, epochs=epochs))
            ta[s], takd[s] = acc(ta_recipe), acc(R.distill("resnet8", ta_recipe))
        print(f"TA resnet14 {epochs} epochs: TA {fmt(ta)}; TAKD {fmt(takd)}; "
              f"TA - BLKD {compare(ta, blkd).text('TA', 'BLKD')}; TAKD - BLKD {compare(takd, blkd).text('TAKD', 'BLKD')}",
              flush=True)


if __name__ == "__main__":
    main()
