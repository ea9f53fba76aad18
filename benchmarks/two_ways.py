"""Two ways of one training, set side by side (for benchmarks of code rewritten without changing its arithmetic):
the same weights after a few steps, then each way's step time over alternating rounds."""
from __future__ import annotations

from typing import Callable

import torch

from takdlib.machine import native_bf16


def fixed_batch() -> tuple[torch.Tensor, torch.Tensor, torch.dtype]:
    """One batch of 128 random channels-last images (seed 0), its labels, and the compute dtype: bf16 where the
    CPU has native bf16, else fp32."""
    x = torch.randn(128, 3, 32, 32, generator=torch.Generator().manual_seed(0)).contiguous(
        memory_format=torch.channels_last)
    return x, torch.arange(128) % 10, torch.bfloat16 if native_bf16() else torch.float32


def compared_row(label: str, before: tuple, after: tuple, steps: Callable[[tuple, int], float], n: int,
                 rounds: int) -> str:
    """A Markdown row: | label | bitwise equal? | before ms/step | after ms/step | speed-up |.

    before, after: (model, optimizer, ...) of the same initialisation; steps(way, k) trains `way` k steps and
    returns the seconds. Both take 3 steps, their weights are compared, then `rounds` alternating rounds of n steps
    are timed: the minimum per way."""
    steps(before, 3)
    steps(after, 3)
    equal = all(torch.equal(p, q) for p, q in zip(before[0].state_dict().values(), after[0].state_dict().values()))
    old, new = [], []
    for _ in range(rounds):
        old.append(steps(before, n))
        new.append(steps(after, n))
    ms = lambda seconds: 1000 * min(seconds) / n  # noqa: E731
    return (f"| {label} | {'bitwise equal' if equal else 'DIFFERENT'} | {ms(old):.1f} | {ms(new):.1f} | "
            f"{min(old) / min(new):.2f}x |")
