#!/usr/bin/env bash
# The evidence protocol in one command: run_all.sh from a clean clone of HEAD with its own empty store and data
# cache (nothing warm, so the manifest's wall time is a cold run's), then its outputs (results/, figures/, runs/)
# copied back into this checkout for review and commit.
#   benchmarks/cold_run.sh [--into DIR] [--no-pace-check] [--minutes-left M] [--commit] [--allow-dirty]
#                          [run_all.sh arguments...]
# Default profile: cpu, which first runs benchmarks/pace_check.py (a pilot seed, its own store and cache) and stops
# unless it decides "start": where --minutes-left says the session ends, 1.1x its estimate plus five minutes left.
# --commit: commit the copied outputs in DIR at once, and what its README quotes of them (counts, run, costs): a
# session may end soon after the run. $TAKD_DATA: the CIFAR archive (else torchvision downloads). $PYTHON: an
# environment to reuse (else `make setup` makes the clone's own .venv). Run it alone on the machine.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
into=$repo pace=1 dirty_ok=0 commit=0 args=() left=()
while [ $# -gt 0 ]; do
  case $1 in
    --into) into=$(cd "$2" && pwd); shift 2 ;;
    --no-pace-check) pace=0; shift ;;
    --minutes-left) left=(--minutes-left "$2"); shift 2 ;;
    --allow-dirty) dirty_ok=1; shift ;;
    --commit) commit=1; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
[[ " ${args[*]-} " == *" --profile "* ]] || args=(--profile cpu ${args[@]+"${args[@]}"})
if [ "$dirty_ok" = 0 ] && [ -n "$(git -C "$repo" status --porcelain)" ]; then
  echo "cold_run: uncommitted changes in $repo would not be in the run (it clones HEAD); commit them," \
       "or --allow-dirty to run HEAD as it is" >&2
  exit 2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/takd-cold.XXXXXX")
revision=$(git -C "$repo" rev-parse --short HEAD)
echo "cold_run: $revision in $work/clone; store, cache and logs in $work"
git clone -q "$repo" "$work/clone"
cd "$work/clone"
if [ -z "${PYTHON:-}" ]; then make setup >/dev/null; PYTHON=$PWD/.venv/bin/python; fi
export PYTHON
if [ "$pace" = 1 ] && [[ " ${args[*]} " == *" --profile cpu "* ]]; then
  TAKD_CACHE=$work/pace-cache "$PYTHON" benchmarks/pace_check.py ${left[@]+"${left[@]}"} | tee "$work/pace_check.txt"
  if ! grep -qx "decision: start" "$work/pace_check.txt"; then
    echo "cold_run: not started; the pace check decided against it (--no-pace-check to run it anyway)" >&2
    exit 3
  fi
fi
TAKD_STORE=$work/store TAKD_CACHE=$work/cache ./run_all.sh "${args[@]}" 2>&1 | tee "$work/run_all.log"
for folder in results figures runs; do
  if [ -d "$folder" ]; then mkdir -p "$into/$folder" && cp -a "$folder/." "$into/$folder/"; fi
done
echo "cold_run: outputs copied into $into (results/, figures/, runs/); the run's log: $work/run_all.log"
if [ "$commit" = 1 ]; then
  copied=()
  for folder in results figures runs; do  # runs/ is ignored where it holds no evidence (as in this repository)
    if [ -d "$into/$folder" ] && ! git -C "$into" check-ignore -q "$folder"; then copied+=("$folder"); fi
  done
  if [ -f "$into/README.md" ] && [ -f "$into/results/census.json" ]; then  # what it quotes from them, requoted
    "$PYTHON" -m takdlib.report "$into/results" --readme "$into/README.md" | tail -1
    "$PYTHON" -m takdlib.evidence "$into" --readme "$into/README.md" | cut -c1-200
    "$PYTHON" -m takdlib.budget --census "$into/results/census.json" --assume-tflops 25 --device-name "one H100" \
      --readme "$into/README.md" | tail -1
    copied+=(README.md)
  fi
  git -C "$into" add -- "${copied[@]}"
  git -C "$into" commit -q \
    -m "Evidence: ./run_all.sh ${args[*]} from an empty store at $revision (benchmarks/cold_run.sh)" \
    -m "Its manifest (results/manifest.json, or runs/<profile>/results/) records the wall time, its split and the CPU."
  echo "cold_run: committed in $into: $(git -C "$into" log -1 --format='%h %s')"
fi
