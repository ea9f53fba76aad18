"""Two runs' stores, compared model by model: the same weights? where did the time go?

python benchmarks/compare_stores.py OLD_STORE NEW_STORE

For the models both stores hold (the same address: the same recipe and data): how many have bitwise-equal weights,
and, per architecture, the seconds inside the training loops (what the machine's speed decides) and outside them
(guide logits, test scoring, saving: what the store's own work decides), old against new.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import torch

from takdlib.locations import stored_files


def stored(root: Path) -> dict[str, dict]:
    """meta.json of every completed model under a store root, by address."""
    return {p.parent.name: json.loads(p.read_text()) for p in stored_files(root, "meta.json")}


def same_weights(a: Path, b: Path) -> bool:
    sa, sb = torch.load(a / "model.pt", weights_only=True), torch.load(b / "model.pt", weights_only=True)
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def compare(old_root: Path, new_root: Path) -> dict:
    old, new = stored(old_root), stored(new_root)
    common = sorted(set(old) & set(new))
    per_arch = defaultdict(lambda: [0, 0.0, 0.0, 0.0, 0.0])  # models, old loop, new loop, old outside, new outside
    equal = 0
    for address in common:
        o, n = old[address], new[address]
        equal += same_weights(old_root / address[:2] / address, new_root / address[:2] / address)
        row = per_arch[n["arch"]]
        row[0] += 1
        row[1] += o["train_seconds"]
        row[2] += n["train_seconds"]
        row[3] += o["wall_seconds"] - o["train_seconds"]
        row[4] += n["wall_seconds"] - n["train_seconds"]
    return dict(old=len(old), new=len(new), common=len(common), equal=equal, per_arch=dict(per_arch))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    args = parser.parse_args(argv)
    r = compare(args.old, args.new)
    print(f"{r['common']} models in both stores ({r['old']} old, {r['new']} new); bitwise-equal weights: {r['equal']}")
    print("| model | trainings | loop s, old | loop s, new | new / old | outside s, old | outside s, new |")
    print("|---|---|---|---|---|---|---|")
    rows = sorted(r["per_arch"].items())
    for arch, (n, lo, ln, oo, on) in rows + [("all", [sum(column) for column in zip(*(row for _, row in rows))])]:
        print(f"| {arch} | {n} | {lo:.0f} | {ln:.0f} | {ln / lo if lo else float('nan'):.3f} | {oo:.0f} | {on:.0f} |")


if __name__ == "__main__":
    main()
