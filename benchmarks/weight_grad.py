"""The 3x3 convolution's weight gradient on a CPU: oneDNN's backward-weights kernel against one matmul over the
input's patches (`takdlib.models.conv`), per layer shape of the plain CNNs and precision; then whole training
steps of the plain CNNs with the matmul weight gradient where `MATMUL_WEIGHT_GRAD` uses it, and without.

python benchmarks/weight_grad.py [--steps 20] [--models plain8 plain10] [--largest-side 4]

--largest-side moves the rule under test to maps up to that side (bf16, the same fewest input channels): what
another CPU's rule would gain, without editing `MATMUL_WEIGHT_GRAD`.

Batch 128, channels-last, 2 threads as the cpu profile trains. Both are timed in one process, alternating, each
a median over `--steps` calls after a warm-up. Prints Markdown tables.
"""
from __future__ import annotations

import argparse
from unittest import mock

import torch
import torch.nn.functional as F

from takdlib.machine import cpu_model, native_bf16
from takdlib.models import build_model, conv
from takdlib.models.plain import PLAIN_SPECS
from step_profile import timed  # median seconds of a call over steps, after a warm-up
from takdlib.precision import AUTOCAST_DTYPES, autocast

BATCH = 128


def layer_shapes() -> list[tuple[int, int, int]]:
    """(in channels, out channels, map side) of every 3x3 conv of the CIFAR-10 plain CNNs, once each."""
    shapes = set()
    for spec, _ in PLAIN_SPECS[10].values():
        in_ch, side = 3, 32
        for item in spec:
            if item == "M":
                side //= 2
            else:
                shapes.add((in_ch, item, side))
                in_ch = item
    return sorted(shapes, key=lambda s: (-s[2], s[0], s[1]))


def weight_grad_ms(in_ch: int, out_ch: int, side: int, dtype: torch.dtype, steps: int) -> tuple[float, float]:
    """Milliseconds of one weight gradient: oneDNN's kernel, the matmul over patches."""
    x = torch.randn(BATCH, in_ch, side, side, dtype=dtype).to(memory_format=torch.channels_last)
    w = torch.randn(out_ch, in_ch, 3, 3, dtype=dtype).to(memory_format=torch.channels_last)
    g = torch.randn(BATCH, out_ch, side, side, dtype=dtype).to(memory_format=torch.channels_last)

    def onednn():
        return torch.ops.aten.convolution_backward(g, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1,
                                                   [False, True, False])[1]

    def matmul():
        return g.permute(0, 2, 3, 1).reshape(-1, out_ch).t() @ conv.patches(x)  # (O, 9C): the weight gradient

    return 1000 * timed(onednn, steps), 1000 * timed(matmul, steps)


def step_ms(name: str, precision: str, steps: int, rule: dict) -> float:
    """Milliseconds of one training step (forward, loss, backward, SGD) of `name` on a fixed batch, the matmul
    weight gradient used by `rule` (as `MATMUL_WEIGHT_GRAD`; empty: nowhere)."""
    torch.manual_seed(0)
    model = build_model(name).to(memory_format=torch.channels_last).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(BATCH, 3, 32, 32).to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (BATCH,))

    def step():
        with mock.patch.dict(conv.MATMUL_WEIGHT_GRAD, rule, clear=True):
            with autocast(torch.device("cpu"), precision):
                loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    return 1000 * timed(step, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--models", nargs="+", default=["plain8", "plain10"])
    parser.add_argument("--precisions", nargs="+", default=["bf16", "fp32"])
    parser.add_argument("--repeats", type=int, default=4, help="alternations of the two step timings (min of each)")
    parser.add_argument("--steps-only", action="store_true", help="only the whole steps, not each layer")
    parser.add_argument("--largest-side", type=int, help="the bf16 rule under test: maps up to this side")
    args = parser.parse_args()
    torch.set_num_threads(2)
    rule = dict(conv.MATMUL_WEIGHT_GRAD)
    if args.largest_side is not None:
        rule[torch.bfloat16] = (args.largest_side, rule[torch.bfloat16][1])
    print(f"CPU: {cpu_model()}; native bf16: {native_bf16()}; torch {torch.__version__}; "
          f"{torch.get_num_threads()} threads; batch {BATCH}, channels-last; matmul weight gradient (largest "
          f"side, fewest input channels): {', '.join(f'{d} {r}' for d, r in rule.items())}\n")
    if not args.steps_only:
        print("| layer (in -> out, map) | precision | oneDNN ms | matmul ms | matmul speed-up | used |")
        print("|---|---|---|---|---|---|")
    for in_ch, out_ch, side in [] if args.steps_only else layer_shapes():
        for precision in args.precisions:
            dtype = AUTOCAST_DTYPES.get(precision, torch.float32)
            a, b = weight_grad_ms(in_ch, out_ch, side, dtype, args.steps)
            with mock.patch.dict(conv.MATMUL_WEIGHT_GRAD, rule, clear=True):
                used = conv.uses_matmul_weight_grad(in_ch, side, dtype)
            print(f"| {in_ch} -> {out_ch}, {side}x{side} | {precision} | {a:.2f} | {b:.2f} | {a / b:.2f}x | "
                  f"{'yes' if used else 'no'} |", flush=True)
    print("\n| model | precision | step ms, oneDNN | step ms, matmul weight gradient | speed-up |")
    print("|---|---|---|---|---|")
    for name in args.models:
        for precision in args.precisions:
            before, after = [], []
            for _ in range(args.repeats):  # alternating, so drift in the machine's speed falls on both
                before.append(step_ms(name, precision, args.steps, {}))
                after.append(step_ms(name, precision, args.steps, rule))
            b, a = min(before), min(after)
            print(f"| {name} | {precision} | {b:.1f} | {a:.1f} | {b / a:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
