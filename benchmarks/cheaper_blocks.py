"""The models' blocks rewritten for speed with the same arithmetic, against the way they were: bitwise the same
training, and the step's time.

- ResNets: `BasicBlock.forward` applies its ReLUs and the residual addition in place (the old, out-of-place
  forward is below).
- Plain CNNs: a pooled block is Conv-BN-max-pool-ReLU (the old order, Conv-BN-ReLU-max-pool, is rebuilt below by
  swapping the two modules back; neither has parameters, so the state dicts are the same).

python benchmarks/cheaper_blocks.py [--models plain2 plain4 plain6 plain10 resnet8 resnet14 resnet20] [--steps 20]
    [--rounds 8]

One process, the machine's threads, bf16 autocast where the CPU has native bf16 (else fp32), batch 128,
channels-last, SGD with momentum. Both ways train a model of the same initialisation; after 3 steps their weights
are compared bitwise, then `--rounds` alternating rounds of `--steps` steps each are timed: the minimum per way.
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from takdlib.machine import cpu_model
from takdlib.models import build_model
from takdlib.models.resnet import BasicBlock
from two_ways import compared_row, fixed_batch

IN_PLACE = BasicBlock.forward


def out_of_place(self, x: torch.Tensor) -> torch.Tensor:
    out = F.relu(self.bn1(self.conv1(x)))
    out = self.bn2(self.conv2(out))
    return F.relu(out + self.shortcut(x))


def relu_before_pool(model: nn.Module) -> nn.Module:
    """A plain CNN with each pooled block's ReLU and max-pool in the old order."""
    for block in model.blocks:
        if isinstance(block[-2], nn.MaxPool2d):
            block[-2], block[-1] = block[-1], block[-2]
    return model


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+",
                        default=["plain2", "plain4", "plain6", "plain10", "resnet8", "resnet14", "resnet20"])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args(argv)
    x, y, dtype = fixed_batch()

    def built(name, old):
        torch.manual_seed(0)
        model = build_model(name, 10).to(memory_format=torch.channels_last).train()
        if old and name.startswith("plain"):
            relu_before_pool(model)
        return model, torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9), old

    def steps(trained, n):
        model, opt, old = trained
        BasicBlock.forward = out_of_place if old else IN_PLACE
        started = time.perf_counter()
        for _ in range(n):
            with torch.autocast("cpu", dtype=dtype, enabled=dtype == torch.bfloat16):
                loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return time.perf_counter() - started

    print(f"CPU: {cpu_model()}, {torch.get_num_threads()} threads, {dtype}; batch 128, {args.steps} steps, "
          f"minimum of {args.rounds} alternating rounds")
    print("| model | weights after 3 steps | before: ms/step | now: ms/step | speed-up |")
    print("|---|---|---|---|---|")
    try:
        for name in args.models:
            print(compared_row(name, built(name, old=True), built(name, old=False), steps, args.steps, args.rounds),
                  flush=True)
    finally:
        BasicBlock.forward = IN_PLACE


if __name__ == "__main__":
    main()
