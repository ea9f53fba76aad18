#!/usr/bin/env bash
# The moment a GPU is at hand, in at most ~5 minutes: what the device is, the smoke profile end to end on it,
# and the throughput table. Run from the repository root on the GPU machine:
#   TAKD_DATA=/path/to/cifar10-jpeg.tar.gz bash benchmarks/device_check.sh
# Everything it prints belongs in benchmarks/RESULTS-gpu.md, with the device's name.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
if ! "$PYTHON" -c "import takdlib" 2>/dev/null; then
  "$PYTHON" -m pip install --quiet -e . || exit 1
fi
echo "== device"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "nvidia-smi: not found"
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"
echo "== smoke profile on cuda (every notebook, every code path)"
start=$(date +%s)
TAKD_STORE="${TAKD_STORE:-$(mktemp -d)}" timeout 150 ./run_all.sh --profile smoke --device cuda -p out_dir "$(mktemp -d)" \
  2>&1 | grep -v IPKernelApp | tail -15
echo "smoke on cuda: exit ${PIPESTATUS[0]}, $(( $(date +%s) - start )) s"
echo "== throughput (images/s per architecture), then every profile's estimated wall time on this device"
RATES="${RATES:-${OUT:-.}/rates-gpu.json}"
timeout 90 "$PYTHON" benchmarks/gpu_throughput.py --steps 20 --json "$RATES" && cat "$RATES"
echo "== torch.compile vs eager (three models)"
timeout 60 "$PYTHON" benchmarks/gpu_throughput.py --steps 20 --compile --models plain2 plain10 resnet20 --census none
