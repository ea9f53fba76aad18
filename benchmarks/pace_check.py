"""Does the cpu profile's cold run fit its two hours on this CPU? Answered in about four minutes, before the run.

Trains 01_gap's first models of the cpu design (the plain4 and plain6 teachers, plain2 alone and under plain4) on a
*pilot* seed in a scratch store, so that no evidence seed is trained to learn the pace, and sets their seconds
beside the same trainings in the design's dry runs (one pilot seed of every notebook, benchmarks/PILOTS.md). The
cold run's estimate is the dry runs' four-seed total scaled by the ratio of the teachers' seconds: the teachers are
the longest of these and the least moved by warm-up. This VM kind's pace has swung 1.8x within an hour, so the
check belongs right before the run it decides, on the quiet machine.

    TAKD_DATA=... python benchmarks/pace_check.py [--minutes-left M]   # the ratio, the estimate, the decision
"""
from __future__ import annotations

import argparse
import tempfile

from takdlib.machine import cpu_model, native_bf16
from takdlib.profiles import pilot_seed, recipes_for
from takdlib.store import Store

# The three dry runs of the frozen design on pilot seed 400 (benchmarks/PILOTS.md), the same weights bitwise:
# 7ef6427 on the AVX10.1 Xeon (12, 56, 11, 58 s; 2,308 s in all), 2e5362a (15, 52, 12, 72 s; 2,331 s) and c6bef93
# (16, 62, 13, 82 s; 2,297.5 s) on family 6 model 207 Xeons. Their means: one run's total is 16-20 times its two
# teachers' seconds, as this VM's pace drifts within a run, so an estimate is good to about a sixth.
DRY_RUN = {"plain2": 14.3, "plain4 teacher": 56.7, "plain2 <- plain4": 12.0, "plain6 teacher": 70.7}
DRY_RUN_SECONDS_PER_SEED = 2312.2
EVIDENCE_SEEDS = 4
BUDGET_SECONDS = 7200.0
# A session starts the run only with this many times the estimate left, plus the minutes after it (copying, sealing
# and committing the evidence): this VM kind's pace drifts within a run (benchmarks/PILOTS.md, seventh session)
SESSION_MARGIN = 1.3
AFTER_RUN_MINUTES = 15.0


def trainings(seed: int) -> dict:
    """01_gap's first trainings, in its order, for one seed: {name as in DRY_RUN: recipe}."""
    R = recipes_for("cpu")
    return {"plain2": R.scratch("plain2", seed), "plain4 teacher": R.teacher("plain4", seed),
            "plain2 <- plain4": R.distill("plain2", R.teacher("plain4", seed)),
            "plain6 teacher": R.teacher("plain6", seed)}


def estimate(seconds: dict[str, float]) -> tuple[float, float]:
    """(the teachers' ratio to the dry run, the cold run's estimated seconds) from this CPU's seconds."""
    teachers = [k for k in DRY_RUN if k.endswith("teacher")]
    ratio = sum(seconds[k] for k in teachers) / sum(DRY_RUN[k] for k in teachers)
    return ratio, ratio * DRY_RUN_SECONDS_PER_SEED * EVIDENCE_SEEDS


def decision(cold: float, minutes_left: float | None = None) -> str:
    """"start", or why not: the estimated seconds against the profile's budget and, where given, the minutes left
    in the session."""
    if cold > BUDGET_SECONDS:
        return f"do not start: over the profile's {BUDGET_SECONDS / 3600:.0f} hours"
    needed = cold * SESSION_MARGIN / 60 + AFTER_RUN_MINUTES
    if minutes_left is not None and needed > minutes_left:
        return (f"do not start: {minutes_left:.0f} minutes left, and it needs {needed:.0f} ({SESSION_MARGIN}x the "
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
    verdict = "fits" if cold <= BUDGET_SECONDS else "does not fit"
    print(f"teachers {ratio:.2f}x the dry runs': the cold run would take about {cold / 3600:.1f} hours, "
          f"which {verdict} its {BUDGET_SECONDS / 3600:.0f} hours")
    print(f"decision: {decision(cold, args.minutes_left)}")


if __name__ == "__main__":
    main()
