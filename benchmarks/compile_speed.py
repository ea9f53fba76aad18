"""torch.compile on or off, per architecture and precision: training images/s of takdlib's own training loop.

python benchmarks/compile_speed.py --data ../shared/data/cifar10-jpeg.tar.gz [--per-class 1000] \\
    [--models plain2 plain10 resnet8 resnet14 resnet20] [--precisions bf16 fp32]

Each model trains two epochs on `--per-class` images per class without augmentation (as the cpu profile's
students and assistants), eager and compiled (`Optim.compile`), in one process, one after the other; the images/s
are the second epoch's, so compiling is not in them; compiling's cost is the first epoch's steps beyond its
median step (`train.compile_seconds`). A fresh inductor cache (a temporary folder) is used, so the compile
seconds are a first compile's; the cache's second-process cost is printed for the first model.
Prints a Markdown table (what `Optim.compile` would gain; no profile compiles yet: benchmarks/RESULTS.md).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace

import torch

from takdlib.data import load_arrays, make_split
from takdlib.machine import cpu_model, native_bf16
from takdlib.profiles import recipes_for
from takdlib.train import train


def images_per_second(name: str, split, precision: str, compiled: bool) -> tuple[float, float]:
    """(images/s of the second epoch, seconds spent compiling) of a two-epoch training of `name`."""
    recipe = recipes_for("cpu").scratch(name, 0)
    recipe = replace(recipe, optim=replace(recipe.optim, epochs=2, precision=precision, compile=compiled))
    _, history = train(recipe, split, log=lambda _: None)
    return len(split.train_x) / history["epochs"][1]["seconds"], history["summary"].get("compile_seconds", 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--per-class", type=int, default=1000)
    parser.add_argument("--models", nargs="+", default=["plain2", "plain10", "resnet8", "resnet14", "resnet20"])
    parser.add_argument("--precisions", nargs="+", default=["bf16", "fp32"])
    parser.add_argument("--second-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(2)
    split = make_split(load_arrays("cifar10", args.data), args.per_class, 100)
    if args.second_process:  # the same compile again, in a new process, with the inductor cache filled
        print(images_per_second(args.models[0], split, args.precisions[0], True)[1])
        return
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="inductor-benchmark-")
    print(f"CPU: {cpu_model()}; native bf16: {native_bf16()}; torch {torch.__version__}; "
          f"{torch.get_num_threads()} threads; {args.per_class} images per class, batch 128, channels-last\n")
    print("| model | precision | eager images/s | compiled images/s | speed-up | first compile s |")
    print("|---|---|---|---|---|---|")
    for name in args.models:
        for precision in args.precisions:
            eager, _ = images_per_second(name, split, precision, False)
            fast, seconds = images_per_second(name, split, precision, True)
            print(f"| {name} | {precision} | {eager:,.0f} | {fast:,.0f} | {fast / eager:.2f}x | {seconds:.1f} |",
                  flush=True)
    started = time.perf_counter()
    again = subprocess.run([sys.executable, __file__, "--data", args.data, "--per-class", str(args.per_class),
                            "--models", args.models[-1], "--precisions", args.precisions[0], "--second-process"],
                           capture_output=True, text=True, env=os.environ, check=True).stdout.split()[-1]
    print(f"\n{args.models[-1]} {args.precisions[0]} compiled again in a second process, inductor cache filled: "
          f"{float(again):.1f} s compiling ({time.perf_counter() - started:.0f} s for the whole process)")


if __name__ == "__main__":
    main()
