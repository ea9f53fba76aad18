"""Training throughput per architecture on one device: fp32 vs bf16 autocast, eager vs torch.compile,
one training alone vs several packed on the device; then each profile's estimated wall time there.

python benchmarks/gpu_throughput.py [--device cuda] [--models plain2 ... resnet110] [--steps 30] [--compile]
                                    [--pack 4] [--json rates.json]

Each cell is images/s of whole SGD steps (forward, loss, backward, update) on synthetic batches that stay on
the device (as takdlib's trainer keeps CIFAR there), after warm-up, with the device synchronised only at the
ends of the timed loop. GFLOP/image (forward + backward) is counted once with torch.utils.flop_counter, so
the table also says what fraction of the device's peak each model reaches. Runs on CPU too (slowly), which is
how CI checks it; on a GPU it is half of benchmarks/device_check.sh.

"Packed" is what the Dask executor does with a GPU worker that declares GPU=k: k trainings at once in k
threads of one process, each on a CUDA stream of its own; the column is their images/s together.
The estimate (takdlib.budget) prices every profile's trainings, counted by the committed census of the cpu
run, at the measured images/s (the packed rate where packing is faster): an estimate, not a measurement.
"""
from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from takdlib import budget
from takdlib.models import build_model

DEFAULT_MODELS = ["plain2", "plain4", "plain6", "plain8", "plain10", "resnet8", "resnet14", "resnet20", "resnet26",
                  "resnet32", "resnet44", "resnet56", "resnet110"]  # every model some profile trains


def _training_step(name: str, device: torch.device, precision: str, compiled: bool, batch: int):
    """A closure doing one SGD step of a fresh model on a fixed synthetic batch kept on the device."""
    model = build_model(name).to(device, memory_format=torch.channels_last)
    step_model = torch.compile(model) if compiled else model
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 3, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,), device=device)

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = step_model(x)
        loss = F.cross_entropy(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def images_per_second(name: str, device: torch.device, precision: str, compiled: bool, steps: int,
                      batch: int) -> float:
    step = _training_step(name, device, precision, compiled, batch)
    for _ in range(3 if not compiled else 5):  # warm-up (and compilation)
        step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return steps * batch / (time.perf_counter() - start)


def packed_images_per_second(name: str, device: torch.device, precision: str, pack: int, steps: int,
                             batch: int) -> float:
    """`pack` trainings at once, each in a thread of its own (and a CUDA stream of its own): images/s of all."""
    steps_fns = [_training_step(name, device, precision, False, batch) for _ in range(pack)]
    streams = [torch.cuda.Stream(device) if device.type == "cuda" else None for _ in range(pack)]

    def run(step, stream, n):
        if stream is None:
            for _ in range(n):
                step()
        else:
            with torch.cuda.stream(stream):
                for _ in range(n):
                    step()

    def all_at_once(n):
        threads = [threading.Thread(target=run, args=(f, s, n)) for f, s in zip(steps_fns, streams)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        _sync(device)

    all_at_once(3)  # warm-up
    start = time.perf_counter()
    all_at_once(steps)
    return pack * steps * batch / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (bf16)")
    parser.add_argument("--pack", type=int, default=4, help="trainings packed on the device at once (bf16)")
    parser.add_argument("--precision", choices=["bf16", "fp32"], default="bf16",
                        help="the precision whose rates price the profiles")
    parser.add_argument("--census", default=str(budget.DEFAULT_CENSUS),
                        help="trainings per profile (takdlib.budget); \"none\": no estimate")
    parser.add_argument("--json", help="write the measured images/s here (for python -m takdlib.budget --rates)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"torch {torch.__version__} on {name}; batch {args.batch}, {args.steps} timed steps per cell; "
          f"synthetic batches kept on the device\n")
    columns = ["fp32", "bf16"] + (["bf16 compiled"] if args.compile else []) + [f"bf16 packed x{args.pack}"]
    print("| model | GFLOP/image (train step) | " + " | ".join(f"{c} img/s" for c in columns) + " | bf16 TFLOP/s |")
    print("|---|---|" + "---|" * len(columns) + "---|")
    best, gflops = {}, {}
    for model in args.models:
        gflop = gflops[model] = budget.train_flops_per_image(model) / 1e9
        rates = {"fp32": images_per_second(model, device, "fp32", False, args.steps, args.batch),
                 "bf16": images_per_second(model, device, "bf16", False, args.steps, args.batch)}
        if args.compile:
            rates["bf16 compiled"] = images_per_second(model, device, "bf16", True, args.steps, args.batch)
        packed = packed_images_per_second(model, device, args.precision, args.pack, args.steps, args.batch)
        best[model] = max(rates[args.precision], packed)
        print(f"| {model} | {gflop:.3f} | " + " | ".join(f"{r:,.0f}" for r in [*rates.values(), packed])
              + f" | {rates['bf16'] * gflop / 1e3:.1f} |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"device": name, "precision": args.precision, "images_per_second": best,
                                               "gflop_per_image": gflops}, indent=1) + "\n")
    if Path(args.census).exists():
        source, counts = budget.read_census(args.census)
        print(f"\nEstimated wall time of each profile on {name} ({args.precision}, the faster of alone and packed; "
              f"an ESTIMATE from the census of the {source} run, not a measurement):\n")
        print(budget.table(counts, source, best, name))


if __name__ == "__main__":
    main()
