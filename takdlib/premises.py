"""The setup checks that paper claims rest on, measured through a notebook's experiment.

Each function trains (or loads) the models it needs from the experiment's store and returns one setup row
(`takdlib.claims`) whose numbers show every model's own accuracy, so a notebook gates its claims with
`claims.given([...], row)`: where a premise fails or is unsettled, the claims resting on it are not judged.
The models are the notebooks' own recipes (same addresses), so a premise costs a training only where no
notebook trained its model already.
"""
from __future__ import annotations

from typing import Sequence

from .claims import ranking
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
