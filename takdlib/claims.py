"""The verdict rules: one function per kind of claim, each stated here before any evidence is read.

Every rule takes measured values per seed ({seed: value}) and returns one row of the claims table:
``kind``, ``claim``, ``paper``, ``ours`` (the numbers), ``verdict`` and, for an undecided row, ``power``
(the smallest effect the design could call, the seeds the observed effect would need, and which way it leans).

A row is one of three kinds, each with its own verdict words and its own count:

* ``paper``: what a paper reports — *reproduced*, *not reproduced*, *inconclusive*;
* ``setup``: a premise the experiment needs (a teacher above its TA above its student) — *holds*, *fails*,
  *unsettled*;
* ``question``: what no paper reports, asked by us — *yes*, *no*, *open*.

Every rule is built on one comparison: A − B paired by seed (`stats.compare`), decided by a two-sided paired
t-test at 5 % (`stats.VERDICT_RULE`). Internally a rule's outcome is +1 (the claim holds), −1 (its opposite
is decided) or 0 (neither); the kind turns it into words.

Claims over several comparisons keep their family-wise error at 5 % in both directions: "every one holds" is
an intersection–union test (each comparison at 5 %: the claim is called only when all are, which is itself a
5 % test), while "some one fails" is a union and is decided by Holm's step-down over the comparisons; a claim
that some *one* of m candidates wins (a peak among m teachers) is tested at 5 % / m. Each undecided row's power
statement is computed at the level its rule tests at.

A paper claim rests on premises: setup checks such as "a larger model is more accurate in this regime" or
"the TA sits between its teacher and its student". `given(premises, row)` names them in the row, and where
one of them does not hold, the claim is *not testable here*: the row keeps its numbers, takes no verdict and
is counted apart.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

from .stats import ALPHA, Comparison, compare, mean_std, seeds_needed, t_critical

KINDS = {"paper": ("reproduced", "not reproduced", "inconclusive"),
         "setup": ("holds", "fails", "unsettled"),
         "question": ("yes", "no", "open")}
KIND_TITLES = {"paper": "paper claims", "setup": "setup checks", "question": "our questions"}
NOT_JUDGED = "not judged (smoke)"
NOT_RUN = "not run"
NOT_TESTABLE = "not testable here"  # a premise of the claim fails or is unsettled, or the design cannot fail it

Values = Mapping[int, float]  # seed -> value


def verdict_word(kind: str, outcome: int) -> str:
    """The word for an outcome (+1 holds, −1 its opposite is decided, 0 neither) of a row of this kind."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of claim {kind!r}; known: {', '.join(KINDS)}")
    return KINDS[kind][{1: 0, -1: 1, 0: 2}[outcome]]


def outcome(c: Comparison, alpha: float = ALPHA) -> int:
    """+1 when A − B is decided positive at level `alpha`, −1 when decided negative, 0 otherwise (fewer than
    2 seeds too)."""
    return c.decided(alpha)


def holm(comparisons: Sequence[Comparison], alpha: float = ALPHA) -> list[int]:
    """Holm's step-down over the two-sided tests of several comparisons: each one's outcome (+1, −1 or 0), with
    the chance of deciding any comparison whose true difference is zero (or of the other sign) at most `alpha`.
    The smallest p is tested at alpha / m, the next at alpha / (m − 1), …, stopping at the first that fails."""
    order = sorted((i for i, c in enumerate(comparisons) if c.n >= 2 and math.isfinite(c.p)),
                   key=lambda i: comparisons[i].p)
    out = [0] * len(comparisons)
    for step, i in enumerate(order):
        c = comparisons[i]
        level = alpha / (len(comparisons) - step)
        if c.decided(level) == 0:
            break
        out[i] = c.decided(level)
    return out


def power(c: Comparison, label: str = "", alpha: float = ALPHA) -> str:
    """For a comparison undecided at level `alpha`: the smallest |A − B| this design calls at that level, the
    seeds the observed difference would need at the same spread, and the side it leans to. Empty for a
    decided one."""
    if outcome(c, alpha) != 0:
        return ""
    prefix = f"{label}: " if label else ""
    if c.n < 2:
        return f"{prefix}{c.n} paired seed(s): nothing can be called"
    excess = c.mean_diff - c.margin
    need = seeds_needed(excess, c.sd_diff, alpha)
    lean = "leans towards the claim" if excess > 0 else "leans against it" if excess < 0 else "leans neither way"
    need_text = f"≈{need} seeds" if need else "more than 1000 seeds"
    level = "" if alpha == ALPHA else f" at {100 * alpha:.3g} %"
    return (f"{prefix}{lean} ({excess:+.2f}); with {c.n} seeds the design calls |Δ| ≥ "
            f"{c.smallest_callable(alpha):.2f}{level}, the observed difference would need {need_text}")


def _row(kind: str, claim: str, paper: str, ours: str, result: int, profile: str, power_text: str = "") -> dict:
    verdict = NOT_JUDGED if profile == "smoke" else verdict_word(kind, result)
    return dict(kind=kind, claim=claim, paper=paper, ours=ours, verdict=verdict,
                power=power_text if result == 0 else "")


def not_run(kind: str, claim: str, paper: str, why: str) -> dict:
    """A row whose data is not available here (e.g. CIFAR-100 offline)."""
    return dict(kind=kind, claim=claim, paper=paper, ours=why, verdict=NOT_RUN, power="")


def given(premises: Sequence[dict], row: dict) -> dict:
    """`row` (a paper claim or one of our questions) judged only where every one of its premises holds.

    premises: setup-check rows (kind "setup"). The row names them; where one fails or is unsettled, the row keeps
    its numbers, its verdict becomes *not testable here*, and its last column says which premise and how it
    stands. A smoke row stays not judged.
    """
    if row.get("kind") == "setup":
        raise ValueError("a setup check is a premise itself; premises qualify paper claims and our questions")
    if not premises:
        raise ValueError(f"no premises given for {row['claim']!r}: name the setup checks the claim rests on")
    wrong = [p["claim"] for p in premises if p.get("kind") != "setup"]
    if wrong:
        raise ValueError(f"premises must be setup checks; not one: {', '.join(wrong)}")
    row = dict(row, premises="; ".join(p["claim"] for p in premises))
    unmet = [p for p in premises if p["verdict"] != KINDS["setup"][0]]
    if unmet and row["verdict"] not in (NOT_JUDGED, NOT_RUN):
        row["verdict"] = NOT_TESTABLE
        row["power"] = "premise not met: " + "; ".join(f"{p['claim']} ({p['verdict']})" for p in unmet)
    return row


def not_testable(kind: str, claim: str, paper: str, ours: str, why: str, profile: str) -> dict:
    """A row this design cannot fail (or cannot judge), with its numbers and the reason."""
    verdict = NOT_JUDGED if profile == "smoke" else NOT_TESTABLE
    return dict(kind=kind, claim=claim, paper=paper, ours=ours, verdict=verdict, power=why)


# --- one comparison --------------------------------------------------------------------------------------

def paired(kind: str, claim: str, paper: str, a: Values, b: Values, name_a: str, name_b: str, profile: str,
           margin: float = 0.0) -> dict:
    """"A beats B (by more than `margin`)": holds when A − B − margin is decided positive, its opposite
    when decided negative."""
    c = compare(a, b, margin)
    return _row(kind, claim, paper, c.text(name_a, name_b), outcome(c), profile, power(c))


# --- several comparisons ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """One comparison of a claim that needs several: A − B, with a label for the table."""

    label: str
    comparison: Comparison


def steps(pairs: Sequence[tuple[str, Values, Values]], margin: float = 0.0) -> list[Step]:
    """Steps from (label, A, B) triples."""
    return [Step(label, compare(a, b, margin)) for label, a, b in pairs]


def every(kind: str, claim: str, paper: str, parts: Sequence[Step], profile: str, extra: str = "") -> dict:
    """"Every one of these holds": holds when every comparison is decided positive at 5 % (an
    intersection–union test, itself at 5 %), its opposite when Holm's step-down over the comparisons decides
    any of them negative (the family-wise error of "some one fails" at 5 %), undecided otherwise. Each
    comparison is listed with its difference and t."""
    comparisons = [s.comparison for s in parts]
    negative = [o == -1 for o in holm(comparisons)]
    result = 1 if parts and all(outcome(c) == 1 for c in comparisons) else -1 if any(negative) else 0
    ours = "; ".join(f"{s.label} {s.comparison.mean_diff:+.2f} (t = {s.comparison.t:.1f})" for s in parts)
    ours += f"; n = {parts[0].comparison.n}" if parts else "no comparisons"
    return _row(kind, claim, paper, ours + (f"; {extra}" if extra else ""), result, profile,
                "; ".join(p for s in parts if (p := power(s.comparison, s.label))))


def ranking(kind: str, claim: str, paper: str, order: Sequence[tuple[str, Values]], profile: str,
            extra: str = "") -> dict:
    """"The models rank in this order" (best first): every adjacent pair decided in that order."""
    pairs = [(f"{a} − {b}", va, vb) for (a, va), (b, vb) in zip(order, order[1:])]
    return every(kind, claim, paper, steps(pairs), profile, extra)


def rise_then_fall(kind: str, claim: str, paper: str, by_size: Sequence[tuple[str, Values]], profile: str) -> dict:
    """"As the teacher grows, the student's accuracy rises, then falls" (by_size: smallest teacher first).

    Holds when some teacher strictly between the smallest and the largest gives students that beat both
    ends' students, each comparison at 5 % / m (Bonferroni over the m interior teachers, so that looking at
    every interior teacher does not inflate the error rate). Its opposite (no interior peak) is decided when
    one end's students beat every interior teacher's, each comparison at 5 % / 2 (Bonferroni over the two
    ends). Needs at least three teachers.
    """
    if len(by_size) < 3:
        raise ValueError("a rise, then a fall needs at least three teachers")
    (first, v_first), (last, v_last), interior = by_size[0], by_size[-1], by_size[1:-1]
    alpha = ALPHA / len(interior)
    peaks, lines = [], []
    for name, v in interior:
        up, down = compare(v, v_first), compare(v, v_last)
        wins = all(c.n >= 2 and c.t > t_critical(c.n, alpha) for c in (up, down))
        peaks += [name] if wins else []
        lines.append(f"under {name} − under {first} {up.mean_diff:+.2f} (t = {up.t:.1f}), − under {last} "
                     f"{down.mean_diff:+.2f} (t = {down.t:.1f})")
    end_wins = [end for end, v_end in ((first, v_first), (last, v_last))
                if all(outcome(compare(v_end, v), ALPHA / 2) == 1 for _, v in interior)]
    result = 1 if peaks else -1 if end_wins else 0
    means = ", ".join(f"{name} {mean_std(v)[0]:.2f}" for name, v in by_size)
    n = compare(v_first, v_last).n
    ours = f"student under {means}; " + "; ".join(lines) + f"; n = {n}, interior at 5 %/{len(interior)}"
    if end_wins:
        ours += f"; under {end_wins[0]} beats every interior teacher"
    best = max(interior, key=lambda nv: mean_std(nv[1])[0])
    lean_c = compare(best[1], v_first if mean_std(v_first)[0] > mean_std(v_last)[0] else v_last)
    return _row(kind, claim, paper, ours, result, profile,
                power(lean_c, f"best interior ({best[0]}) vs the better end", alpha))


def midpoint(kind: str, claim: str, paper: str, teacher: Values, student: Values, tas: Mapping[str, Values],
             taught: Mapping[str, Values], profile: str) -> dict:
    """"The best TA is the one whose accuracy is nearest the teacher–student midpoint".

    Per seed, the midpoint is (teacher + student) / 2 and a TA's distance is |TA − midpoint|; the closest TA
    is the one of least mean distance. Only TAs decisively farther from the midpoint than the closest (a
    paired test on the distances) can tell the rule apart: with none, the row is undecided. The claim holds
    when the closest TA's students beat those of every decisively farther TA, and its opposite is decided
    when Holm's step-down over the decisively farther TAs finds one whose students beat the closest TA's.
    """
    mid = {s: (teacher[s] + student[s]) / 2 for s in teacher if s in student}
    dist = {t: {s: abs(v[s] - mid[s]) for s in v if s in mid} for t, v in tas.items()}
    closest = min(dist, key=lambda t: mean_std(dist[t])[0])
    farther = [t for t in dist if t != closest and outcome(compare(dist[t], dist[closest])) == 1]
    beats = {t: compare(taught[closest], taught[t]) for t in farther}
    outcomes = [outcome(c) for c in beats.values()]
    result = (0 if not farther else 1 if all(o == 1 for o in outcomes)
              else -1 if -1 in holm(list(beats.values())) else 0)
    m = mean_std(mid)[0]
    ours = (f"midpoint {m:.2f}; TA accuracy " + ", ".join(f"{t} {mean_std(v)[0]:.2f}" for t, v in tas.items())
            + f"; closest {closest}; decisively farther: {', '.join(farther) or 'none'}")
    ours += "".join(f"; students via {closest} − via {t} {c.mean_diff:+.2f} (t = {c.t:.1f})" for t, c in beats.items())
    if not farther:
        others = [t for t in dist if t != closest]
        gap = compare(dist[max(others, key=lambda t: mean_std(dist[t])[0])], dist[closest]) if others else None
        why = "no TA is decisively farther from the midpoint than the closest, so the rule cannot tell them apart"
        power_text = why + (f" ({power(gap, 'farthest vs closest distance')})" if gap is not None and power(gap) else "")
    else:
        power_text = "; ".join(p for t, c in beats.items() if (p := power(c, f"via {closest} vs via {t}")))
    return _row(kind, claim, paper, ours, result, profile, power_text)


def search_agrees(kind: str, claim: str, paper: str, picks: Sequence[dict], profile: str) -> dict:
    """"The dynamic programme finds the path exhaustive search finds", judged only where it can fail.

    picks: one dict per k (the most TAs a path may have) with ``k``, ``dp`` and ``exhaustive`` (the paths each
    picked), ``dp_acc`` / ``exhaustive_acc`` ({seed: test accuracy of the picked path's student}) and, optionally,
    ``substructure`` (`paths.substructure` of exhaustive search's path). The DP evaluates every path with at most
    one TA, so where exhaustive search's best path has one TA or none the two agree by construction: such k are
    listed, not judged. Over the k left: holds when the DP picks exhaustive search's path for each; its opposite
    when Holm's step-down over those k finds exhaustive search's path decisively better than the DP's; undecided
    otherwise. With no k left the row is not testable here.
    """
    if not picks:
        raise ValueError("no k to judge: pass the k where the DP can differ from exhaustive search (k >= 2)")
    forced = [p for p in picks if len(p["exhaustive"]) <= 3]
    judged = [p for p in picks if len(p["exhaustive"]) > 3]
    parts = [f"k = {p['k']}: exhaustive search's best path {' → '.join(p['exhaustive'])} has "
             f"{len(p['exhaustive']) - 2} TA, which the DP tries exhaustively (agreement forced)" for p in forced]
    differ = [p for p in judged if tuple(p["dp"]) != tuple(p["exhaustive"])]
    better = dict(zip((id(p) for p in differ), holm([compare(p["exhaustive_acc"], p["dp_acc"]) for p in differ])))
    for p in judged:
        if tuple(p["dp"]) == tuple(p["exhaustive"]):
            parts.append(f"k = {p['k']}: the same path, {' → '.join(p['dp'])}")
        else:
            c = compare(p["exhaustive_acc"], p["dp_acc"])
            parts.append(f"k = {p['k']}: DP {' → '.join(p['dp'])}, exhaustive {' → '.join(p['exhaustive'])}, "
                         f"exhaustive − DP {c.mean_diff:+.2f} (t = {c.t:.1f})")
        parts += [f"substructure: {s['text']}" for s in p.get("substructure", ())]
    ours = "; ".join(parts)
    if not judged:
        return not_testable(kind, claim, paper, ours, "for every k, exhaustive search's best path has at most one "
                            "TA, which the DP tries exhaustively: the DP cannot miss it on this table", profile)
    result = 1 if not differ else -1 if 1 in better.values() else 0
    return _row(kind, claim, paper, ours, result, profile,
                "the DP picked another path, but not a decisively worse one" if result == 0 else "")


# --- the table ---------------------------------------------------------------------------------------------

def counts(rows: Sequence[dict]) -> dict[str, dict[str, int]]:
    """{kind: {verdict: number of rows}}, kinds in KINDS order, words in their order."""
    out: dict[str, dict[str, int]] = {}
    for kind, words in KINDS.items():
        mine = [r for r in rows if r.get("kind", "paper") == kind]
        if mine:
            out[kind] = {w: n for w in (*words, NOT_TESTABLE, NOT_RUN, NOT_JUDGED)
                         if (n := sum(r["verdict"] == w for r in mine))}
    return out


def counts_text(rows: Sequence[dict]) -> str:
    """'paper claims: 9 reproduced, 3 not reproduced, …; setup checks: …' for the head of a table."""
    return "; ".join(f"{KIND_TITLES[k]} ({sum(c.values())}): " + ", ".join(f"{n} {w}" for w, n in c.items())
                     for k, c in counts(rows).items())
