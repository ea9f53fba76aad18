"""Pilot: the cpu profile's plain teachers (every training image, crop + flip, 4 epochs): does accuracy rise
with size at every step, and how far is plain10 above plain2 trained alike (the gap premise)? Also the plain2
students under plain10 (BLKD) and through plain4 (TAKD), to see that KD still helps under the stronger teacher.

Pilot seeds only (100-499, `takdlib.profiles.PILOT_SEEDS`).

    TAKD_DATA=... python benchmarks/pilots/plain_teachers.py --store /tmp/pilot-store --seeds 100 101
"""
from __future__ import annotations

import argparse

from takdlib.profiles import pilot_seed, recipes_for
from takdlib.stats import compare, fmt
from takdlib.store import Store

SIZES = ("plain2", "plain4", "plain6", "plain8", "plain10")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--seeds", type=pilot_seed, nargs="+", default=[100, 101])
    args = parser.parse_args()
    R = recipes_for(args.profile)  # the profile's recipe builders
    store = Store(args.store, log=lambda s: None)
    acc = lambda r: store.get(r).summary["final_test_acc"]  # noqa: E731
    mean_acc = lambda rs: sum(map(acc, rs)) / len(rs)  # noqa: E731
    heads = {a: {s: acc(R.teacher(a, s)) for s in args.seeds} for a in SIZES}
    for a in SIZES:
        print(f"teacher {a}: {fmt(heads[a])} ({store.get(R.teacher(a, args.seeds[0])).summary['train_seconds']:.0f} s)",
              flush=True)
    for small, big in zip(SIZES, SIZES[1:]):
        print(f"{big} - {small}: {compare(heads[big], heads[small]).text(big, small)}")
    print(f"gap plain10 - plain2 (both teachers): {compare(heads['plain10'], heads['plain2']).text('plain10', 'plain2')}")
    students = {name: {s: mean_acc(R.student_seeds(r(s))) for s in args.seeds} for name, r in {
        "NOKD": lambda s: R.scratch("plain2", s),
        "BLKD": lambda s: R.chain(["plain10", "plain2"], s),
        "TAKD": lambda s: R.chain(["plain10", "plain4", "plain2"], s)}.items()}
    ta = {s: acc(R.chain(["plain10", "plain4", "plain2"], s).guides[0]) for s in args.seeds}
    print(f"TA plain4 {fmt(ta)}; " + "; ".join(f"{k} {fmt(v)}" for k, v in students.items()))
    for a, b in (("TAKD", "BLKD"), ("TAKD", "NOKD"), ("BLKD", "NOKD")):
        print(f"{a} - {b}: {compare(students[a], students[b]).text(a, b)}", flush=True)


if __name__ == "__main__":
    main()
