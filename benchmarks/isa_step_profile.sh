#!/usr/bin/env bash
# The step profile (benchmarks/step_profile.py) on this CPU as it is, then with oneDNN, MKL and ATen's kernels
# limited to older instruction sets: what a CPU without native bf16 would do with the same cores.
#   AVX512_CORE_VNNI: a Xeon of the Cascade Lake kind (AVX-512, no bf16 instructions, no AMX)
#   AVX2:             an AMD EPYC / Ryzen of the Zen 3 kind, or a laptop (no AVX-512)
# The CPU's name and flags in the output stay this one's; the limits are the environment variables printed.
#   bash benchmarks/isa_step_profile.sh [step_profile.py arguments, e.g. --models plain10 resnet20 --steps 10]
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python}
for isa in native AVX512_CORE_VNNI AVX2; do
  case $isa in
    native) limits=() ;;
    AVX2) limits=(ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 ATEN_CPU_CAPABILITY=avx2) ;;
    *) limits=(ONEDNN_MAX_CPU_ISA=$isa MKL_ENABLE_INSTRUCTIONS=AVX512 ATEN_CPU_CAPABILITY=avx512) ;;
  esac
  echo "## instruction sets: $isa ${limits[*]:-}"
  env "${limits[@]}" PYTHONPATH="$PWD" "$python" benchmarks/step_profile.py "$@"
  echo
done
