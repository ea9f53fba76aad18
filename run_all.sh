#!/usr/bin/env bash
# Execute every notebook headlessly and regenerate figures/ and results/.
#   ./run_all.sh [--profile smoke|cpu|cpu_fp32|gpu|gpu_fp16|paper|paper_code] [--only NAME...] [--device cpu|cuda]
#                [--replicate [SEED...] | --check [NOTEBOOK]] [-p NAME VALUE]...
# Default profile: cpu (two hours on 2 CPU cores with native bf16 from an empty store, on the faster Xeons; seconds
# with a warm one).
# Data: $TAKD_DATA (a CIFAR archive or folder), else torchvision downloads CIFAR. Store: $TAKD_STORE or ./artifacts.
# Python: $PYTHON, else the active virtual or conda environment's, else the project's .venv (made by `make`).
set -euo pipefail
cd "$(dirname "$0")"
if [ -z "${PYTHON:-}" ]; then
  conda_env=${CONDA_DEFAULT_ENV:-}; [ "$conda_env" = base ] && conda_env=  # as the Makefile: base is no project env
  if [ -n "${VIRTUAL_ENV:-}$conda_env" ] || [ ! -x .venv/bin/python ]; then PYTHON=python; else PYTHON=.venv/bin/python; fi
fi
exec "$PYTHON" -m takdlib.runner "$@"
