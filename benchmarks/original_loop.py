"""takdlib's trainer against the original TAKD code's training loop, run unmodified, in the original's setting.

git clone https://github.com/imirzadeh/Teacher-Assistant-Knowledge-Distillation /tmp/takd-code   # not kept here
python benchmarks/original_loop.py --takd-code /tmp/takd-code --data ../shared/data/cifar10-jpeg.tar.gz \
    [--steps 60] [--pairs none:plain10 none:resnet20 plain10:plain2 resnet20:resnet8]

The original: its `train.TrainManager.train` and its `model_factory` models, imported from the snapshot as they
are (`train.py` imports `nni`, which that class never calls: a stub stands in for it). Its data is what its
`get_cifar` builds by default, rebuilt here over the extracted JPEGs because torchvision's CIFAR class would
download: no augmentation (`crop=False`), ToTensor + Normalize per image in a DataLoader with 2 workers, batch 128,
shuffled. Its KD step runs the teacher every step, with gradients. One epoch on the first `--steps` x 128
training images, then its validation pass over one batch of test images and its checkpoint, timed whole.

takdlib: `takdlib.train.train` on the same images, one epoch, the same optimiser, fp32 (and bf16 where the CPU has
it), teachers trained by neither (random weights; speed does not depend on them). A KD student gets its guide's
logits in one pass before the epoch (`train.fixed_guide_targets`), as every unaugmented student does.

Prints a Markdown table of images/s per (teacher, student) pair and the ratio to the original.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tarfile
import tempfile
import time
import types
import warnings
from dataclasses import replace

import torch
import torchvision
import torchvision.transforms as T

from takdlib.data import load_arrays, make_split
from takdlib.machine import cpu_model, native_bf16
from takdlib.models import build_model
from takdlib.profiles import recipes_for
from takdlib.train import train

BATCH = 128


def original_modules(code: str):
    """The snapshot's `train` and `model_factory` modules, imported unmodified."""
    sys.modules.setdefault("nni", types.ModuleType("nni"))  # imported by train.py, used only by its __main__
    sys.path.insert(0, code)
    import model_factory
    import train as original_train

    return original_train, model_factory


def original_loader(folder: str, split: str, n: int) -> torch.utils.data.DataLoader:
    """get_cifar's loader (crop=False) over the first n images of an ImageFolder split."""
    normalize = T.Normalize(mean=[0.507, 0.487, 0.441], std=[0.267, 0.256, 0.276])
    dataset = torchvision.datasets.ImageFolder(os.path.join(folder, split), T.Compose([T.ToTensor(), normalize]))
    generator = torch.Generator().manual_seed(0)
    subset = torch.utils.data.Subset(dataset, torch.randperm(len(dataset), generator=generator)[:n].tolist())
    return torch.utils.data.DataLoader(subset, batch_size=BATCH, num_workers=2, pin_memory=True,
                                       shuffle=split == "train")


def original(teacher: str | None, student: str, folder: str, steps: int, code: str) -> float:
    original_train, model_factory = original_modules(code)
    torch.manual_seed(0)
    model = model_factory.create_cnn_model(student.replace("plain", "plane"), "cifar10")
    guide = model_factory.create_cnn_model(teacher.replace("plain", "plane"), "cifar10") if teacher else None
    config = dict(epochs=1, learning_rate=0.01, momentum=0.9, weight_decay=1e-4, device="cpu",
                  is_plane=not student.startswith("resnet"), trial_id="bench", T_student=4.0, lambda_student=0.5,
                  name=student)
    manager = original_train.TrainManager(model, teacher=guide, train_loader=original_loader(folder, "train", steps * BATCH),
                                          test_loader=original_loader(folder, "test", BATCH), train_config=config)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():  # its per-epoch prints
        warnings.simplefilter("ignore")  # pin_memory without a GPU; nn.KLDivLoss's 'mean'
        manager.train()
    return steps * BATCH / (time.perf_counter() - start)


def ours(teacher: str | None, student: str, arrays, steps: int, precision: str) -> float:
    R = recipes_for("smoke")
    per_class = steps * BATCH // 10
    data = dict(train_per_class=per_class, val_per_class=0, test_per_class=0, augment=False)
    optim = dict(epochs=1, batch_size=BATCH, precision=precision, lr=0.01, schedule="constant")
    guide_recipe = None
    if teacher:
        guide_recipe = R.teacher(teacher, 0)
        recipe = R.distill(student, guide_recipe)
    else:
        recipe = R.scratch(student, 0)
    recipe = replace(recipe, data=replace(recipe.data, **data), optim=replace(recipe.optim, **optim))
    split = make_split(arrays, per_class, 0, 0)
    guides = [build_model(teacher)] if teacher else []
    start = time.perf_counter()
    train(recipe, split, guides=guides, log=lambda _: None)
    return len(split.train_x) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--takd-code", required=True, help="a checkout of the original TAKD repository")
    parser.add_argument("--data", default=os.environ.get("TAKD_DATA"), help="the CIFAR-10 JPEG archive")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--pairs", nargs="+", default=["none:plain10", "none:resnet20", "plain10:plain2",
                                                        "resnet20:resnet8"],
                        help="TEACHER:STUDENT, TEACHER 'none' for a student trained alone")
    args = parser.parse_args()
    if not args.data:
        raise SystemExit("name the CIFAR-10 JPEG archive with --data or TAKD_DATA")
    arrays = load_arrays("cifar10", args.data)
    precisions = ["fp32"] + (["bf16"] if native_bf16() else [])
    print(f"CPU: {cpu_model()} ({torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs, native bf16: "
          f"{', '.join(native_bf16()) or 'none'}); torch {torch.__version__}; batch {BATCH}, {args.steps} steps, "
          f"no augmentation (the original's default)\n")
    print("| teacher → student | original (fp32) | " + " | ".join(f"takdlib {p}" for p in precisions) + " | "
          + " | ".join(f"{p} / original" for p in precisions) + " |")
    print("|---|---|" + "---|" * 2 * len(precisions))
    with tempfile.TemporaryDirectory() as folder:
        with tarfile.open(args.data) as tar:
            tar.extractall(folder, filter="data")
        cwd = os.getcwd()
        for pair in args.pairs:
            teacher, student = pair.split(":")
            teacher = None if teacher == "none" else teacher
            os.chdir(folder)  # the original writes its checkpoint into the working directory
            try:
                ref = original(teacher, student, folder, args.steps,
                               os.path.abspath(os.path.join(cwd, args.takd_code)))
            finally:
                os.chdir(cwd)
            mine = [ours(teacher, student, arrays, args.steps, p) for p in precisions]
            print(f"| {teacher or 'none'} → {student} | {ref:.0f} img/s | " + " | ".join(f"{m:.0f} img/s" for m in mine)
                  + " | " + " | ".join(f"**{m / ref:.2f}×**" for m in mine) + " |", flush=True)


if __name__ == "__main__":
    main()
