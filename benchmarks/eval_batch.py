"""What the size of an evaluation batch costs a whole cpu-profile training.

python benchmarks/eval_batch.py [--models plain2 resnet8] [--repeats 4] [--batches 1000 128]

Trains one cpu-profile student (2,500 random training images, 1,000 validation, 5,000 test: the cpu profile's
student split) from scratch, `--repeats` times per evaluation batch size, alternating the sizes so that drift of
the machine hits both alike, and prints the median wall seconds of each. Every epoch scores the validation
images and the end scores the test images, both through `train.predict`, whose batch size is the one changed.
"""
from __future__ import annotations

import argparse
import platform
import time

import torch

import takdlib.train as training
from takdlib.data import Split
from takdlib.machine import cpu_model, native_bf16
from takdlib.profiles import recipes_for


def random_split(seed: int = 0) -> Split:
    gen = torch.Generator().manual_seed(seed)

    def images(n):
        return (torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=gen),
                torch.randint(0, 10, (n,), generator=gen))

    return Split(*images(2500), *images(1000), *images(5000), num_classes=10, input_std=1.0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["plain2", "resnet8"])
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--batches", nargs="+", type=int, default=[1000, 128])
    args = parser.parse_args(argv)
    print(f"CPU: {cpu_model()} ({platform.machine()}, {torch.get_num_threads()} torch threads, native bf16: "
          f"{', '.join(native_bf16()) or 'none'}); torch {torch.__version__}\n")
    print("| model | epochs | " + " | ".join(f"eval batch {b}: s" for b in args.batches) + " | ratio |")
    print("|---|---|" + "---|" * len(args.batches) + "---|")
    split, predict = random_split(), training.predict
    for arch in args.models:
        recipe = recipes_for("cpu").scratch(arch, 100, role="student")
        seconds = {b: [] for b in args.batches}
        for _ in range(args.repeats):
            for b in args.batches:
                training.predict = lambda *a, b=b, **k: predict(*a, **{**k, "batch_size": b})
                start = time.perf_counter()
                training.train(recipe, split, log=lambda line: None)
                seconds[b].append(time.perf_counter() - start)
        training.predict = predict
        medians = [sorted(v)[len(v) // 2] for v in seconds.values()]
        print(f"| {arch} | {recipe.optim.epochs} | " + " | ".join(f"{m:.2f}" for m in medians)
              + f" | {medians[0] / medians[-1]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
