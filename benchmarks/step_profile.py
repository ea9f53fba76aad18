"""Where a training step's time goes, against what this CPU can do.

python benchmarks/step_profile.py [--models plain2 plain10 resnet20] [--precision bf16 fp32] [--steps 20] [--ops]
    [--compiled]

For each model, one cpu-profile step of batch 128 split into its parts, each timed alone over `--steps` repeats
after a warm-up: the batch (shuffle, crop + flip, normalise: `data.train_batches`), the forward pass with its
loss, the backward pass, the optimiser step, and the evaluation of 1,000 images (`train.predict`, as every epoch
scores the validation split). The FLOPs of forward + backward come from PyTorch's flop counter; the peak is this
CPU's measured rate of a 2048 x 2048 matmul in the same precision, operands already in its dtype. Prints a
Markdown table: milliseconds per part, training images/s (the four training parts), and the fraction of the matmul peak those images/s reach.
--ops adds, per model and precision, the share of a step's time per operator (torch.profiler, 10 steps).
--compiled adds each model's step compiled as `Optim.compile` compiles it (`train.compiled`, inductor), its
compile in the warm-up; inductor's generated kernels (the fused element-wise passes) are one row of --ops.
"""
from __future__ import annotations

import argparse
import platform
import time

import torch
import torch.nn.functional as F

from takdlib.budget import train_flops_per_image
from takdlib.data import train_batches
from takdlib.models import build_model
from takdlib.machine import cpu_model, native_bf16
from takdlib.precision import AUTOCAST_DTYPES, autocast
from takdlib.train import compiled as compiled_model, predict

BATCH = 128


def timed(fn, steps: int, warmup: int = 3) -> float:
    """Median seconds of fn() over `steps` calls after `warmup` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def matmul_peak(precision: str, n: int = 2048, steps: int = 10) -> float:
    """FLOP/s of an n x n matmul with both operands already in the precision's dtype: the machine's rate,
    without the fp32 -> bf16 casts that autocast adds (they cost a 2048 x 2048 product up to 60 % of its time)."""
    dtype = AUTOCAST_DTYPES.get(precision, torch.float32)
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    return 2 * n ** 3 / timed(lambda: a @ b, steps)


def step_parts(name: str, precision: str, xb: torch.Tensor, yb: torch.Tensor, compile_step: bool = False):
    """A fresh model (train mode) and three calls that make up its training step on the batch xb (B, 3, 32, 32),
    yb (B,): forward (with the loss), forward + backward, and the optimiser step. With `compile_step`, forward and
    backward run the model compiled (the model returned stays eager, for evaluation, as in `train.train`)."""
    device = torch.device("cpu")
    model = build_model(name).to(memory_format=torch.channels_last).train()
    stepped = compiled_model(model, device) if compile_step else model
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    state = {}

    def forward():
        with autocast(device, precision):
            state["loss"] = F.cross_entropy(stepped(xb).float(), yb)

    def backward():
        forward()
        opt.zero_grad(set_to_none=True)
        state["loss"].backward()

    return model, forward, backward, opt.step


def profile(name: str, precision: str, steps: int, compile_step: bool = False) -> dict:
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (2048, 3, 32, 32), dtype=torch.uint8, generator=gen)
    labels = torch.randint(0, 10, (2048,), generator=gen)
    xb, yb, _ = next(train_batches(images, labels, BATCH, gen, augmented=True, input_std=1.0))
    model, forward, backward, step = step_parts(name, precision, xb, yb, compile_step)

    def batch():
        next(train_batches(images, labels, BATCH, gen, augmented=True, input_std=1.0))

    parts = {"batch": timed(batch, steps), "forward": timed(forward, steps)}
    parts["backward"] = timed(backward, steps) - parts["forward"]
    backward()
    parts["optimiser"] = timed(step, steps)
    evaluation = timed(lambda: predict(model, images[:1000], 1.0, precision), max(3, steps // 4))
    model.train()
    train_seconds = sum(parts.values())
    flops = train_flops_per_image(name)
    return dict(model=name, precision=precision, step="compiled" if compile_step else "eager",
                **{k: 1000 * v for k, v in parts.items()},
                evaluation=1000 * evaluation, images_per_s=BATCH / train_seconds,
                flops_per_s=flops * BATCH / train_seconds)


def operator_shares(name: str, precision: str, compile_step: bool = False, top: int = 8) -> str:
    """The `top` operators by their own time over 10 forward + backward + optimiser steps, as shares of the total;
    inductor's generated kernels (one profiler row per compiled graph) summed as one."""
    from torch.profiler import ProfilerActivity, profile as torch_profile

    _, _, backward, optimise = step_parts(name, precision, torch.randn(BATCH, 3, 32, 32),
                                          torch.randint(0, 10, (BATCH,)), compile_step)

    def step():
        backward()
        optimise()

    for _ in range(3):
        step()
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(10):
            step()
    seconds: dict[str, float] = {}
    for e in prof.key_averages():
        key = "inductor's kernels" if e.key.startswith("## Call CompiledFxGraph") else e.key.removeprefix("aten::")
        seconds[key] = seconds.get(key, 0.0) + e.self_cpu_time_total
    total = sum(seconds.values())
    ops = sorted(seconds.items(), key=lambda kv: kv[1], reverse=True)
    return ", ".join(f"{key} {100 * t / total:.0f} %" for key, t in ops[:top])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["plain2", "plain10", "resnet20"])
    parser.add_argument("--precision", nargs="+", default=["bf16", "fp32"])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--ops", action="store_true", help="also the share of a step's time per operator")
    parser.add_argument("--compiled", action="store_true", help="also each model's step compiled (inductor)")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    print(f"CPU: {cpu_model()} ({platform.machine()}, {torch.get_num_threads()} torch threads, native bf16: "
          f"{', '.join(native_bf16()) or 'none'}); torch {torch.__version__}\n")
    peaks = {p: matmul_peak(p) for p in args.precision}
    print(" · ".join(f"{p} matmul peak {v / 1e9:.0f} GFLOP/s" for p, v in peaks.items()) + "\n")
    ways = (False, True) if args.compiled else (False,)  # eager, and compiled if asked
    print("| model | precision | step | batch ms | forward ms | backward ms | optimiser ms | evaluate 1,000 ms | "
          "train images/s | GFLOP/s | of the matmul peak |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.models:
        for p, compile_step in ((p, c) for p in args.precision for c in ways):
            r = profile(name, p, args.steps, compile_step)
            print(f"| {name} | {p} | {r['step']} | {r['batch']:.1f} | {r['forward']:.1f} | {r['backward']:.1f} | {r['optimiser']:.1f} | "
                  f"{r['evaluation']:.0f} | {r['images_per_s']:.0f} | {r['flops_per_s'] / 1e9:.0f} | "
                  f"{100 * r['flops_per_s'] / peaks[p]:.0f} % |", flush=True)
    if args.ops:
        print("\nOperators by their own time in a training step (forward + backward + optimiser):\n")
        for name in args.models:
            for p, compile_step in ((p, c) for p in args.precision for c in ways):
                shares = operator_shares(name, p, compile_step)
                print(f"- {name} {p}{', compiled' if compile_step else ''}: {shares}", flush=True)


if __name__ == "__main__":
    main()
