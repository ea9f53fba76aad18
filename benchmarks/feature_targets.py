"""AT and FSP students with the teacher's targets (attention maps, FSP matrices) computed once per training image,
against the teacher's forward at every step, as the cpu profile trains them (resnet8 under resnet20, 1,000
images per class without augmentation, bf16, batch 128). Both ways train the same weights bitwise
(tests/test_train.py); this measures their time. The teacher is resnet20 as built (its weights do not change
the time), each training `--epochs` epochs, the two ways alternating, `--repeats` times; the minimum is kept.

    python benchmarks/feature_targets.py --data $TAKD_DATA [--epochs 2] [--repeats 2]
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from takdlib.machine import cpu_model  # noqa: E402
from takdlib.methods import AttentionSettings, FSPSettings, get_method  # noqa: E402
from takdlib.models import build_model  # noqa: E402
from takdlib.profiles import recipes_for  # noqa: E402
from takdlib.store import Store  # noqa: E402
from takdlib.train import train  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    R = recipes_for("cpu")
    head = R.teacher("resnet20", 0)
    store = Store(Path("/tmp/takd-feature-targets"), args.data, log=lambda _: None)
    teacher = build_model("resnet20", 10).to(memory_format=torch.channels_last).eval()
    print(f"CPU: {cpu_model()} ({platform.machine()}, {torch.get_num_threads()} torch threads); torch "
          f"{torch.__version__}\n")
    print("| method | precision | images | at each step: s | computed once: s | speed-up |")
    print("|---|---|---|---|---|---|")
    for settings in (AttentionSettings(weight=1000.0), FSPSettings(weight=1.0)):
        student = R.distill("resnet8", head, method=settings)
        student = replace(student, optim=replace(student.optim, epochs=args.epochs))
        split = store.split(student.data)
        method = type(get_method(settings.name))
        seconds = {True: [], False: []}
        for _ in range(args.repeats):
            for fixed in (False, True):
                method.fixed_guide_targets = fixed
                started = time.perf_counter()
                train(student, split, guides=[teacher], log=lambda _: None)
                seconds[fixed].append(time.perf_counter() - started)
        method.fixed_guide_targets = True
        each_step, once = min(seconds[False]), min(seconds[True])
        print(f"| {settings.name} | {student.optim.precision} | {len(split.train_x):,} x {args.epochs} | "
              f"{each_step:.1f} | {once:.1f} | {each_step / once:.2f}x |")


if __name__ == "__main__":
    main()
