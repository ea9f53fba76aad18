"""AT's and FSP's students with the gradient of their feature summaries laid out channels-last
(`methods.attention.channels_last_grad`, which AT uses) against without: bitwise the same training, and the step's
time. FSP's pooled Gram matrices send back a channels-last gradient already; its row shows that the helper would
buy it nothing.

python benchmarks/feature_grad_layout.py [--student resnet8] [--teacher resnet20] [--steps 10] [--rounds 5]

One process, the machine's threads, bf16 autocast where the CPU has native bf16 (else fp32), batch 128,
channels-last, SGD with momentum; the teacher's targets computed once from its features, as in training without
augmentation; each method's cpu-profile weight. Both ways train a student of the same initialisation; after 3
steps their weights are compared bitwise, then `--rounds` alternating rounds of `--steps` steps each are timed:
the minimum per way. "Without" replaces the helper by the identity.
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from takdlib.machine import cpu_model
from takdlib.methods import attention, fsp
from takdlib.models import build_model
from two_ways import compared_row, fixed_batch

# each method's weight times its scale, as in the cpu profile (notebook 07: AT's β = 1000, halved; FSP's λ = 1)
WEIGHTS = {"at": 1000.0 * attention.Attention.scale, "fsp": 1.0 * fsp.FSP.scale}


channels_last_grad = attention.channels_last_grad


def fsp_matrix_laid_out(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """`fsp.fsp_matrix` with the helper on each float copy, where AT has it."""
    size = min(first.shape[-2:], second.shape[-2:])
    first, second = (F.adaptive_avg_pool2d(channels_last_grad(f.float()), size) for f in (first, second))
    return first.flatten(2) @ second.flatten(2).transpose(1, 2) / (size[0] * size[1])


def summaries(name: str, features: list[torch.Tensor], fsp_matrix=fsp.fsp_matrix) -> list[torch.Tensor]:
    if name == "at":
        return [attention.attention_map(f) for f in features]
    return [fsp_matrix(a, b) for a, b in zip(features[:-1], features[1:])]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--student", default="resnet8")
    parser.add_argument("--teacher", default="resnet20")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    x, y, dtype = fixed_batch()
    teacher = build_model(args.teacher, 10).to(memory_format=torch.channels_last).eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=dtype, enabled=dtype == torch.bfloat16):
        _, teacher_features = teacher(x, features=True)

    def student():
        torch.manual_seed(0)
        model = build_model(args.student, 10).to(memory_format=torch.channels_last).train()
        return model, torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def steps(way, n):
        model, opt, name, targets, laid_out = way
        attention.channels_last_grad = channels_last_grad if laid_out else (lambda t: t)
        fsp_matrix = fsp_matrix_laid_out if laid_out else fsp.fsp_matrix
        started = time.perf_counter()
        for _ in range(n):
            with torch.autocast("cpu", dtype=dtype, enabled=dtype == torch.bfloat16):
                logits, features = model(x, features=True)
            ours = summaries(name, features, fsp_matrix)
            distance = torch.stack([(s - t).pow(2).mean() for s, t in zip(ours, targets)]).sum()
            loss = F.cross_entropy(logits.float(), y) + WEIGHTS[name] * distance
            opt.zero_grad()
            loss.backward()
            opt.step()
        return time.perf_counter() - started

    print(f"CPU: {cpu_model()}, {torch.get_num_threads()} threads, {dtype}; {args.student} under {args.teacher}'s "
          f"targets, batch 128, {args.steps} steps, minimum of {args.rounds} alternating rounds")
    print("| method | weights after 3 steps | without: ms/step | channels-last gradient: ms/step | speed-up |")
    print("|---|---|---|---|---|")
    try:
        for name in WEIGHTS:
            targets = [t.detach() for t in summaries(name, teacher_features)]
            way = lambda laid_out: (*student(), name, targets, laid_out)  # noqa: E731
            print(compared_row(name, way(False), way(True), steps, args.steps, args.rounds), flush=True)
    finally:
        attention.channels_last_grad = channels_last_grad


if __name__ == "__main__":
    main()
