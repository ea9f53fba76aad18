"""Crop + flip of one training batch: indexing each pixel (takdlib before 2026-12-06, kept here as the reference)
against picking one crop per image from the view of every crop (`takdlib.data.augment`). Same generator draws,
same bytes (checked here on every repeat); the time is per batch of 128 CIFAR images, the median of --repeats.

python benchmarks/augment_speed.py [--repeats 300]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from takdlib.data import augment
from takdlib.machine import cpu_model


def augment_per_pixel(x: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    b, c, h, w = x.shape
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=generator, device=x.device)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=generator, device=x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    batch = torch.arange(b, device=x.device)[:, None, None, None]
    chan = torch.arange(c, device=x.device)[None, :, None, None]
    out = padded[batch, chan, rows, cols]
    flip = torch.rand(b, generator=generator, device=x.device) < 0.5
    return torch.where(flip[:, None, None, None], out.flip(3), out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    x = torch.randint(0, 256, (128, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    ms = {"per pixel": [], "one crop per image": []}
    for seed in range(args.repeats):  # alternated, so that drift of the machine hits both alike
        outs = []
        for name, f in (("per pixel", augment_per_pixel), ("one crop per image", augment)):
            started = time.perf_counter()
            outs.append(f(x, torch.Generator().manual_seed(seed)))
            ms[name].append(1000 * (time.perf_counter() - started))
        assert torch.equal(*outs), f"the two differ at seed {seed}"
    print(f"CPU: {cpu_model()}; {torch.get_num_threads()} threads; a batch of 128, {args.repeats} repeats, "
          f"every output equal")
    old, new = (statistics.median(ms[k]) for k in ms)
    print(f"per pixel {old:.2f} ms, one crop per image {new:.2f} ms: {old / new:.2f}x")


if __name__ == "__main__":
    main()
