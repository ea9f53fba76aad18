"""What fidelity's test pass costs a run: fp32 logits per (model, DataSpec) against the model's own precision per
(model, test images).

python benchmarks/fidelity_pass.py STORE [--repeats 3]

STORE: the store of a run whose fidelity was computed the old way (fp32 test logits, keyed by the whole DataSpec),
e.g. a one-seed dry run of the cpu profile. Counts the passes its `test_logits` files record, and the passes the
new key (the test images only, `fidelity.which_test_images`) leaves; times one pass over the 10,000 test images per
architecture in fp32 and in bf16 (random weights and images: the time does not depend on them), alternating the
two, and prints the run's fidelity seconds both ways.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from pathlib import Path

import torch

from takdlib.fidelity import which_test_images
from takdlib.locations import stored_files
from takdlib.machine import cpu_model, native_bf16
from takdlib.models import build_model
from takdlib.recipes import DataSpec
from takdlib.train import predict


def passes(root: Path) -> tuple[Counter, Counter]:
    """Per architecture: the old passes (one per test_logits file) and the passes the new key leaves."""
    old, new = Counter(), set()
    for meta in stored_files(root, "meta.json"):
        arch = json.loads(meta.read_text())["arch"]
        for f in meta.parent.glob("test_logits-*.pt"):
            images = DataSpec(**torch.load(f, weights_only=False)["params"]["images"])
            old[arch] += 1
            new.add((meta.parent.name, arch, json.dumps(which_test_images(images), sort_keys=True)))
    return old, Counter(arch for _, arch, _ in new)


def seconds_per_pass(arch: str, precision: str, images: torch.Tensor) -> float:
    model = build_model(arch, 10).to(memory_format=torch.channels_last)
    started = time.perf_counter()
    predict(model, images, 1.0, precision)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    old, new = passes(args.store)
    images = torch.randint(0, 256, (10_000, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    print(f"CPU: {cpu_model()}, native bf16: {', '.join(native_bf16()) or 'none'}; {torch.get_num_threads()} threads")
    print("| model | passes, old | passes, new | s per pass, fp32 | s per pass, bf16 | old s | new s |")
    print("|---|---|---|---|---|---|---|")
    total_old = total_new = 0.0
    for arch in sorted(old):
        times = {"fp32": [], "bf16": []}
        for _ in range(args.repeats):
            for precision in times:  # alternated, so that drift of the machine hits both alike
                times[precision].append(seconds_per_pass(arch, precision, images))
        fp32, bf16 = (statistics.median(times[p]) for p in ("fp32", "bf16"))
        total_old, total_new = total_old + old[arch] * fp32, total_new + new[arch] * bf16
        print(f"| {arch} | {old[arch]} | {new[arch]} | {fp32:.2f} | {bf16:.2f} | {old[arch] * fp32:.1f} | "
              f"{new[arch] * bf16:.1f} |")
    print(f"| all | {sum(old.values())} | {sum(new.values())} | | | {total_old:.1f} | {total_new:.1f} |")


if __name__ == "__main__":
    main()
