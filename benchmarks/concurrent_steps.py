"""Two one-thread trainings at once against one two-thread training: the training step's images/s per architecture,
on the cores of this machine. What two Dask workers of one thread each (`--cluster local:2`) could at best buy.

python benchmarks/concurrent_steps.py [--models plain2 resnet8 resnet14 plain10] [--steps 40] [--rounds 3]

Each measurement is a fresh process (batch 128, channels-last, bf16 autocast where the CPU has native bf16, else
fp32; SGD with momentum; 5 warm-up steps). Per round and model: one process with 2 threads; then two processes of
1 thread started together, their images/s summed. The rounds alternate the two ways; the table gives the median
of the rounds. Run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

STEP = r"""
import sys, time, torch
from takdlib.models import build_model
from takdlib.machine import native_bf16
name, threads, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(0)
model = build_model(name, 10).to(memory_format=torch.channels_last).train()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x = torch.randn(128, 3, 32, 32).contiguous(memory_format=torch.channels_last)
y = torch.randint(0, 10, (128,))
dtype = torch.bfloat16 if native_bf16() else torch.float32
def step():
    with torch.autocast("cpu", dtype=dtype, enabled=dtype == torch.bfloat16):
        loss = torch.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
for _ in range(5):
    step()
started = time.perf_counter()
for _ in range(steps):
    step()
print(128 * steps / (time.perf_counter() - started))
"""


def images_per_second(model: str, threads: int, steps: int, copies: int) -> float:
    """Summed images/s of `copies` processes training `model` at once, each with `threads` torch threads."""
    procs = [subprocess.Popen([sys.executable, "-c", STEP, model, str(threads), str(steps)], stdout=subprocess.PIPE,
                              text=True) for _ in range(copies)]
    outs = [p.communicate()[0] for p in procs]
    if any(p.returncode for p in procs):
        raise SystemExit(f"a step process for {model} failed")
    return sum(float(out) for out in outs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["plain2", "resnet8", "resnet14", "plain10"])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    from takdlib.machine import cpu_model, native_bf16

    bf16 = ", ".join(native_bf16()) or "none (fp32 steps)"
    print(f"CPU: {cpu_model()}, native bf16: {bf16}; batch 128, {args.steps} steps, median of {args.rounds} alternating rounds")
    print("| model | one process, 2 threads: img/s | two processes, 1 thread each: img/s summed | ratio |")
    print("|---|---|---|---|")
    for model in args.models:
        one, two = [], []
        for _ in range(args.rounds):
            one.append(images_per_second(model, 2, args.steps, 1))
            two.append(images_per_second(model, 1, args.steps, 2))
        a, b = statistics.median(one), statistics.median(two)
        print(f"| {model} | {a:,.0f} | {b:,.0f} | {b / a:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
