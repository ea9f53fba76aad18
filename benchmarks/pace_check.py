"""How long will the cpu profile's cold run take on this CPU, and does it fit the session? Answered in about four
minutes, before the run.

Trains 01_gap's first models of the cpu design (the plain4 and plain6 teachers, plain2 alone and under plain4) on a
*pilot* seed in a scratch store, so that no evidence seed is trained to learn the pace, and sets their seconds
beside the same trainings in the design's dry runs (one pilot seed of every notebook, benchmarks/PILOTS.md). The
estimate is the dry runs' time for four seeds, and longer where this CPU's teachers are slower: never shorter, for
four whole dry runs took 2,056-2,331 s a seed while this check has read 0.75-1.42x; it read 1.42x and 0.75x within
an hour of dry runs at the others' pace, so a four-minute window does not predict a run of hours here. Where the
estimate is over the profile's two hours the run still starts, if the session can hold it; its manifest records the
wall time and the README quotes it against the two hours.

    TAKD_DATA=... python benchmarks/pace_check.py [--minutes-left M]   # the ratio, the estimate, the decision
"""
from __future__ import annotations

import argparse
import tempfile

from takdlib.machine import cpu_model, native_bf16
from takdlib.profiles import pilot_seed, recipes_for
from takdlib.store import Store

# The four dry runs of the frozen design on pilot seed 400 (benchmarks/PILOTS.md), the same weights bitwise:
# 7ef6427 on the AVX10.1 Xeon (12, 56, 11, 58 s; 2,308 s in all), 2e5362a (15, 52, 12, 72 s; 2,331 s), c6bef93
# (16, 62, 13, 82 s; 2,297.5 s) and 5537d0a (7.6, 54.5, 10.3, 73.1 s; 2,056.3 s) on family 6 model 207 Xeons. Their
# means: one run's total is 16-20 times its two teachers' seconds, as this VM's pace drifts within a run.
DRY_RUN = {"plain2": 12.65, "plain4 teacher": 56.1, "plain2 <- plain4": 11.6, "plain6 teacher": 71.3}
DRY_RUN_SECONDS_PER_SEED = 2248.2
# of which once per notebook, not per seed (kernel, imports, tables, figures): "other" in the two dry runs that
# split their time (107.0 and 100.4 s)
NOTEBOOK_SECONDS = 103.7
EVIDENCE_SEEDS = 4
BUDGET_SECONDS = 7200.0
# A session starts the run only with this many times the estimate left, plus the minutes after it (cold_run.sh
# --commit commits the evidence as soon as it is copied back): the margin holds a run a tenth slower than the
# dry runs' mean, whose slowest was 3.7 % slower
SESSION_MARGIN = 1.1
AFTER_RUN_MINUTES = 5.0


def trainings(seed: int) -> dict:
    """01_gap's first trainings, in its order, for one seed: {name as in DRY_RUN: recipe}."""
    R = recipes_for("cpu")
    return {"plain2": R.scratch("plain2", seed), "plain4 teacher": R.teacher("plain4", seed),
            "plain2 <- plain4": R.distill("plain2", R.teacher("plain4", seed)),
            "plain6 teacher": R.teacher("plain6", seed)}


def estimate(seconds: dict[str, float]) -> tuple[float, float]:
    """(the teachers' ratio to the dry runs, the cold run's estimated seconds) from this CPU's seconds: the dry runs'
    four seeds (their per-notebook time once), at their pace or, where the teachers read slower, at this CPU's."""
    teachers = [k for k in DRY_RUN if k.endswith("teacher")]
    ratio = sum(seconds[k] for k in teachers) / sum(DRY_RUN[k] for k in teachers)
    dry_runs = EVIDENCE_SEEDS * (DRY_RUN_SECONDS_PER_SEED - NOTEBOOK_SECONDS) + NOTEBOOK_SECONDS
    return ratio, max(ratio, 1.0) * dry_runs


def decision(cold: float, minutes_left: float | None = None) -> str:
    """"start", or why not: whether the session, where its minutes left are given, holds SESSION_MARGIN times the
    estimated seconds and the minutes after the run. Without a session's end it starts."""
    needed = cold * SESSION_MARGIN / 60 + AFTER_RUN_MINUTES
    if minutes_left is not None and needed > minutes_left:
        return (f"do not start: {minutes_left:g} minutes left, and it needs {needed:.1f} ({SESSION_MARGIN}x the "
                f"estimate and {AFTER_RUN_MINUTES:.0f} minutes after it)")
    return "start"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=pilot_seed, default=400, help="a pilot seed (100-499)")
    parser.add_argument("--store", default=None, help="default: a scratch folder, deleted afterwards")
    parser.add_argument("--minutes-left", type=float, default=None, help="the session's minutes left, if it ends")
    args = parser.parse_args()
    print(f"CPU: {cpu_model()}, native bf16: {', '.join(native_bf16()) or 'none (use cpu_fp32)'}", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        store = Store(args.store or scratch, log=lambda s: None)
        seconds = {}
        for name, recipe in trainings(args.seed).items():
            seconds[name] = store.get(recipe).summary["train_seconds"]
            print(f"{name}: {seconds[name]:.0f} s (dry runs {DRY_RUN[name]:.1f} s, "
                  f"{seconds[name] / DRY_RUN[name]:.2f}x)", flush=True)
    ratio, cold = estimate(seconds)
    over = ("within" if cold <= BUDGET_SECONDS
            else "over; the README must say so with the manifest's wall time, against")
    print(f"teachers {ratio:.2f}x the dry runs': the cold run would take about {cold / 3600:.1f} hours, "
          f"{over} the profile's {BUDGET_SECONDS / 3600:.0f} hours")
    print(f"decision: {decision(cold, args.minutes_left)}")


if __name__ == "__main__":
    main()
