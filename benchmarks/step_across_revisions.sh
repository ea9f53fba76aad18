#!/usr/bin/env bash
# One eager training step per model (bf16 where the CPU has it natively, else fp32; batch 128, channels-last,
# 2 threads; forward, cross-entropy, backward, SGD), timed with the takdlib of an earlier revision and with this
# checkout's, in alternating rounds, each a median of 20 steps after 3: how much faster a step has become since
# REV on this CPU. Only `takdlib.models.build_model` is used, which every revision has.
#
#   PYTHON=.venv/bin/python benchmarks/step_across_revisions.sh REV [ROUNDS] [MODELS...]
#   e.g. benchmarks/step_across_revisions.sh 51ec2af 3 resnet8 resnet14 resnet20 plain10
set -euo pipefail
rev=${1:?usage: benchmarks/step_across_revisions.sh REV [ROUNDS] [MODELS...]}
rounds=${2:-3}
shift $(( $# < 2 ? $# : 2 ))
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(resnet8 resnet14 resnet20 plain10)
python=${PYTHON:-python}
here=$(cd "$(dirname "$0")/.." && pwd)
old=$(mktemp -d)
trap 'git -C "$here" worktree remove --force "$old" >/dev/null 2>&1 || rm -rf "$old"' EXIT
git -C "$here" worktree add -q --detach "$old" "$rev"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'): $rev ($(git -C "$here" log -1 --format=%cs "$rev")) against $(git -C "$here" rev-parse --short HEAD); CPU: $(lscpu | sed -n 's/^Model name: *//p')"
header="| round | takdlib |"; rule="|---|---|"
for m in "${models[@]}"; do header+=" $m ms |"; rule+="---|"; done
echo "$header"; echo "$rule"
for round in $(seq "$rounds"); do
  for tree in "$old" "$here"; do
    label=$([ "$tree" = "$here" ] && git -C "$here" rev-parse --short HEAD || echo "$rev")
    # from /, so that the working directory's takdlib is not the one imported
    ms=$(cd / && PYTHONPATH="$tree" "$python" - "${models[@]}" <<'PY'
import sys, time, torch, torch.nn.functional as F
from takdlib.models import build_model
torch.set_num_threads(2)
flags = open("/proc/cpuinfo").read()
dtype = torch.bfloat16 if ("avx512_bf16" in flags or "amx_bf16" in flags) else torch.float32
cells = []
for name in sys.argv[1:]:
    torch.manual_seed(0)
    model = build_model(name).to(memory_format=torch.channels_last).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(128, 3, 32, 32).to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (128,))
    def step():
        with torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32):
            loss = F.cross_entropy(model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    for _ in range(3):
        step()
    times = []
    for _ in range(20):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    cells.append(f"{1000 * sorted(times)[10]:.1f}")
print(" | ".join(cells))
PY
)
    echo "| $round | $label | $ms |"
  done
done
echo "(milliseconds per step, median of 20)"
