"""Training throughput (images/s) of takdlib's trainer vs a loop in the style of the original TAKD code.

python benchmarks/train_throughput.py --data ../shared/data/cifar10-jpeg.tar.gz [--steps 40] [--models plain10 resnet20]
python benchmarks/train_throughput.py --data ... --precision-only --models plain2 plain4 plain6 plain8 plain10 resnet8 resnet14 resnet20

(a) takdlib: `takdlib.train.train` on a one-epoch recipe — uint8 tensors in memory, batched crop + flip on
    the device, bf16 autocast, channels_last (and the same trainer in fp32, to show what bf16 buys).
(b) reference: torchvision ImageFolder over the extracted JPEGs + DataLoader(num_workers=2) + per-sample PIL
    RandomCrop(32, 4) / RandomHorizontalFlip / ToTensor / Normalize, fp32, SGD — the original code's pipeline.
Same model, batch 128, the same number of optimisation steps, in one run. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import os
import tarfile
import tempfile
import time
from dataclasses import replace

import torch
import torchvision
import torchvision.transforms as T

from takdlib.data import MEAN, STD, load_arrays, make_split
from takdlib.models import build_model
from takdlib.profiles import recipes_for
from takdlib.train import train

BATCH = 128


def ours(name: str, arrays, steps: int, precision: str) -> float:
    recipe = recipes_for("smoke").scratch(name, 0)
    per_class = steps * BATCH // 10
    recipe = replace(recipe, data=replace(recipe.data, train_per_class=per_class, val_per_class=0, test_per_class=0,
                                          augment=True),
                     optim=replace(recipe.optim, epochs=1, batch_size=BATCH, precision=precision, lr=0.01))
    split = make_split(arrays, per_class, 0, 0)
    _, history = train(recipe, split, log=lambda _: None)
    return len(split.train_x) / history["epochs"][0]["seconds"]


def reference(name: str, folder: str, steps: int, warmup: int = 3) -> float:
    transform = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)])
    dataset = torchvision.datasets.ImageFolder(os.path.join(folder, "train"), transform=transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=True, num_workers=2)
    torch.manual_seed(0)
    model = build_model(name)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    model.train()
    it = iter(loader)
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        x, y = next(it)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return steps * BATCH / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.environ.get("TAKD_DATA"), help="the CIFAR-10 JPEG archive")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--models", nargs="+", default=["plain10", "resnet20"])
    parser.add_argument("--precision-only", action="store_true",
                        help="only takdlib fp32 vs bf16 (no reference loop): does bf16 pay on this CPU?")
    args = parser.parse_args()
    if not args.data:
        raise SystemExit("name the CIFAR-10 JPEG archive with --data or TAKD_DATA")
    arrays = load_arrays("cifar10", args.data)
    if args.precision_only:
        precision_table(args.models, arrays, args.steps)
        return
    with tempfile.TemporaryDirectory() as folder:
        with tarfile.open(args.data) as tar:
            tar.extractall(folder, filter="data")
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {cpu_description()}, "
              f"{os.cpu_count()} CPUs; batch {BATCH}, {args.steps} steps per measurement, crop+flip augmentation in all\n")
        print("| model | reference (DataLoader + PIL, fp32) | takdlib fp32 | takdlib bf16 | takdlib bf16 / reference |")
        print("|---|---|---|---|---|")
        for name in args.models:
            ref = reference(name, folder, args.steps)
            fp32 = ours(name, arrays, args.steps, "fp32")
            bf16 = ours(name, arrays, args.steps, "bf16")
            print(f"| {name} | {ref:.0f} img/s | {fp32:.0f} img/s | {bf16:.0f} img/s | **{bf16 / ref:.2f}×** |", flush=True)


def cpu_description() -> str:
    from takdlib.machine import cpu_model, native_bf16

    return (f"{cpu_model()}, torch dispatches to {torch.backends.cpu.get_cpu_capability()}, "
            f"native bf16 instructions: {', '.join(native_bf16()) or 'none'}")


def precision_table(models: list[str], arrays, steps: int) -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {cpu_description()}; batch {BATCH}, "
          f"{steps} steps per measurement, crop+flip augmentation\n")
    print("| model | takdlib fp32 | takdlib bf16 autocast | bf16 / fp32 |")
    print("|---|---|---|---|")
    for name in models:
        fp32 = ours(name, arrays, steps, "fp32")
        bf16 = ours(name, arrays, steps, "bf16")
        print(f"| {name} | {fp32:.0f} img/s | {bf16:.0f} img/s | **{bf16 / fp32:.2f}×** |", flush=True)


if __name__ == "__main__":
    main()
