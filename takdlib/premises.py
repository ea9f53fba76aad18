"""The setup checks that paper claims rest on, measured through a notebook's experiment.

Each function trains (or loads) the models it needs from the experiment's store and returns one setup row
(`takdlib.claims`) whose numbers show every model's own accuracy, so a notebook gates its claims with
`claims.given([...], row)`: where a premise fails or is unsettled, the claims resting on it are not judged.
The models are the notebooks' own recipes (same addresses), so a premise costs a training only where no
notebook trained its model already.
"""
from __future__ import annotations

from typing import Sequence

from .claims import NOT_JUDGED, ranking
from .recipes import Recipe
from .stats import by_seed, fmt

ROLE_WORDS = {"student": "students'", "assistant": "assistants'", "teacher": "teachers'"}


def larger_is_better(exp, archs: Sequence[str], role: str = "student") -> dict:
    """"Trained alone in the regime of `role`, a larger model is more accurate": each model of `archs`
    (smallest first) beats the next smaller one (every adjacent pair at 5 %; `claims.ranking`)."""
    if len(archs) < 2:
        raise ValueError(f"a size order needs at least two models, got {list(archs)}")
    R = exp.recipes
    rows = [({"arch": a}, R.student_seeds(R.scratch(a, seed, role=role))) for a in archs for seed in exp.seeds]
    df = exp.measure(rows)
    acc = {a: by_seed(df[df.arch == a]) for a in archs}
    return ranking("setup", f"{ROLE_WORDS[role]} regime, trained alone: {' < '.join(archs)}",
                   "the premise of a capacity gap: a larger model is more accurate",
                   [(a, acc[a]) for a in reversed(archs)], exp.profile.name,
                   extra="; ".join(f"{a} {fmt(acc[a])}" for a in archs))


def ta_between(exp, chain: Sequence[str]) -> dict:
    """"Each TA sits between its teacher and its student": along teacher → TA(s) → student (a TAKD chain),
    the teacher beats the first TA, each TA the next, and the last TA beats the student trained as the TA was
    (taught by the teacher in the assistants' regime: like with like)."""
    if len(chain) < 3:
        raise ValueError(f"a chain with a TA has at least three models, got {list(chain)}")
    R = exp.recipes
    rows = []
    for seed in exp.seeds:
        models = _chain_models(R.chain(list(chain), seed))[:-1]  # teacher, TA1, ..., last TA
        like_ta = R.distill(chain[-1], models[0], role="assistant")
        rows += [({"model": f"{role} {r.arch}"}, r) for role, r in zip(_roles(len(models)), models)]
        rows.append(({"model": f"student {chain[-1]}"}, R.student_seeds(like_ta)))
    df = exp.measure(rows)
    names = list(dict.fromkeys(df.model))
    acc = {m: by_seed(df[df.model == m]) for m in names}
    return ranking("setup", f"{' → '.join(chain)}: each TA sits between its teacher and its student "
                   f"(the student taught by {chain[0]} as the TA was)",
                   "TAKD's premise: a TA between teacher and student",
                   [(m, acc[m]) for m in names], exp.profile.name,
                   extra="; ".join(f"{m} {fmt(acc[m])}" for m in names))


def _chain_models(recipe: Recipe) -> list[Recipe]:
    """A TAKD chain's recipes from its teacher to its last model (each step's single guide)."""
    models = [recipe]
    while models[0].guides:
        models.insert(0, models[0].guides[0])
    return models


def _roles(n: int) -> list[str]:
    return ["teacher"] + [f"TA{i}" if n > 2 else "TA" for i in range(1, n)]


def tuned_alike(exp, recipes: Sequence[Recipe], what: str) -> dict:
    """"The methods compared had the same tuning": every method the compared `recipes` learn by (FitNets' hint
    stage included) has its learning rate in the profile's `Tuning`, one grid and one rule for all; models of
    one method alone share their regime's rate. Decided from the profile, not measured: holds or fails, and
    the row names the rates or the methods left untuned."""
    tuning = exp.profile.tuning
    learners = {(r.method.name, r.arch) for recipe in recipes for r in _learners(recipe)}
    rates = {(m, a): tuning.lr(m, a) if tuning else None for m, a in sorted(learners)}
    one_method = len({m for m, _ in learners}) == 1
    untuned = [] if one_method else [f"{m} ({a})" for (m, a), lr in rates.items() if lr is None]
    ours = ("; ".join(f"{m} ({a}) lr {lr}" for (m, a), lr in rates.items() if lr is not None)
            + (f"; grid {list(tuning.grid)}, {tuning.rule}" if tuning else ""))
    if one_method:
        ours = f"one method ({next(iter(learners))[0]}): one learning rate for every model compared"
    elif untuned:
        ours = (ours + "; " if ours.strip("; ") else "") + "no tuned rate: " + ", ".join(untuned)
    verdict = NOT_JUDGED if exp.profile.name == "smoke" else "holds" if not untuned else "fails"
    return dict(kind="setup", claim=f"{what}: every method compared had its learning rate from one grid by one rule",
                paper="like against like: the same tuning budget", ours=ours, verdict=verdict, power="")


def _learners(recipe: Recipe) -> list[Recipe]:
    """The trainings a compared model's method consists of: itself, FitNets' hint stage, and the assistants it
    learns from (a TAKD chain's TAs, DGKD's), not the teacher."""
    inner = ([] if recipe.init is None else [recipe.init]) + [g for g in recipe.guides if g.role == "assistant"]
    return [recipe] + [r for g in inner for r in _learners(g)]
