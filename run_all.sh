#!/usr/bin/env bash
# Execute every notebook headlessly and regenerate figures/ and results/.
#   ./run_all.sh [--profile smoke|cpu|cpu_fp32|gpu|paper|paper_code] [--only NAME...] [--device cpu|cuda] [-p NAME VALUE]...
# Default profile: cpu (about an hour on 2 CPU cores from an empty store; seconds with a warm one).
# Data: $TAKD_DATA (a CIFAR archive or folder), else torchvision downloads CIFAR. Store: $TAKD_STORE or ./artifacts.
set -euo pipefail
cd "$(dirname "$0")"
exec "${PYTHON:-python}" -m takdlib.runner "$@"
