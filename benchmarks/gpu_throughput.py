"""Training throughput per architecture on one device: fp32 vs bf16 autocast, eager vs torch.compile.

python benchmarks/gpu_throughput.py [--device cuda] [--models plain2 ... resnet110] [--steps 30] [--compile]

Each cell is images/s of whole SGD steps (forward, loss, backward, update) on synthetic batches that stay on
the device (as takdlib's trainer keeps CIFAR there), after warm-up, with the device synchronised only at the
ends of the timed loop. GFLOP/image (forward + backward) is counted once with torch.utils.flop_counter, so
the table also says what fraction of the device's peak each model reaches. Runs on CPU too (slowly), which is
how CI checks it; on a GPU it is half of benchmarks/device_check.sh.
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from takdlib.models import build_model

DEFAULT_MODELS = ["plain2", "plain4", "plain6", "plain8", "plain10", "resnet8", "resnet14", "resnet20", "resnet56",
                  "resnet110"]


def train_flops_per_image(name: str, batch: int = 8) -> float:
    """FLOPs of one training step (forward + backward) per image, counted by PyTorch's flop counter."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(name)
    x, y = torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    return counter.get_total_flops() / batch


def images_per_second(name: str, device: torch.device, precision: str, compiled: bool, steps: int,
                      batch: int) -> float:
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

    for _ in range(3 if not compiled else 5):  # warm-up (and compilation)
        step()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return steps * batch / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (bf16)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"torch {torch.__version__} on {name}; batch {args.batch}, {args.steps} timed steps per cell; "
          f"synthetic batches kept on the device\n")
    columns = ["fp32", "bf16"] + (["bf16 compiled"] if args.compile else [])
    print("| model | GFLOP/image (train step) | " + " | ".join(f"{c} img/s" for c in columns) + " | bf16 TFLOP/s |")
    print("|---|---|" + "---|" * len(columns) + "---|")
    for model in args.models:
        gflop = train_flops_per_image(model) / 1e9
        rates = [images_per_second(model, device, "fp32", False, args.steps, args.batch),
                 images_per_second(model, device, "bf16", False, args.steps, args.batch)]
        if args.compile:
            rates.append(images_per_second(model, device, "bf16", True, args.steps, args.batch))
        print(f"| {model} | {gflop:.3f} | " + " | ".join(f"{r:,.0f}" for r in rates) + f" | {rates[1] * gflop / 1e3:.1f} |",
              flush=True)


if __name__ == "__main__":
    main()
