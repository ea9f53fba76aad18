#!/usr/bin/env bash
# The speed measurements of the issue "Speed pays for the regime", in one run on one CPU, so that their ratios
# may be set beside each other: a training step against the CPU's bf16 matmul rate, eager and compiled, with
# its operators; the matmul weight gradient (per layer and plain10's whole bf16 step); torch.compile on the
# ResNets' trainings (bf16, the cpu profile's precision; a first compile and a second process's); and the
# original TAKD code's loop beside takdlib's.
#
#   TAKD_DATA=../shared/data/cifar10-jpeg.tar.gz benchmarks/speed_in_one_run.sh /tmp/takd-code > out.txt
#
# /tmp/takd-code: a checkout of github.com/imirzadeh/Teacher-Assistant-Knowledge-Distillation (not kept here).
# Run it alone on the machine: the three scripts time 2 threads each, one after another. PYTHON names the
# interpreter (default: python on the PATH, e.g. the activated .venv).
set -euo pipefail
takd_code=${1:?usage: benchmarks/speed_in_one_run.sh PATH_TO_THE_ORIGINAL_TAKD_CODE}
[ -f "$takd_code/train.py" ] || { echo "speed_in_one_run: no train.py in $takd_code: not a checkout of the original TAKD code" >&2; exit 2; }
: "${TAKD_DATA:?set TAKD_DATA to the CIFAR-10 archive (or folder)}"
python=${PYTHON:-python}
here=$(cd "$(dirname "$0")" && pwd)
started=$(date +%s)
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), takdlib $(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet HEAD || echo ' (dirty)')"
lscpu | grep -E '^(Model name|CPU family|Model):' | tr -s ' '
echo -e "\n## A training step against the matmul rate, eager and compiled\n"
"$python" "$here/step_profile.py" --models plain10 resnet8 resnet14 resnet20 --precision bf16 --compiled --ops
echo -e "\n## The matmul weight gradient\n"
"$python" "$here/weight_grad.py" --steps 15 --models plain10 --precisions bf16 fp32
echo -e "\nThe same whole step with the matmul weight gradient on 4x4 maps only:\n"
"$python" "$here/weight_grad.py" --steps 15 --models plain10 --precisions bf16 --steps-only --largest-side 4
echo -e "\n## torch.compile on the ResNets, bf16\n"
"$python" "$here/compile_speed.py" --data "$TAKD_DATA" --models resnet8 resnet14 resnet20 --precisions bf16
echo -e "\n## The original TAKD loop beside takdlib's\n"
"$python" "$here/original_loop.py" --takd-code "$takd_code" --data "$TAKD_DATA"
echo -e "\n($(($(date +%s) - started)) s in all)"
