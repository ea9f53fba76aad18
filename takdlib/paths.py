"""Distillation paths from a teacher to a student through teacher assistants, and their search.

A path is a tuple of model names from teacher to student, e.g. ("plain10", "plain6", "plain2").
`evaluate(path)` returns the accuracy of the path's last model trained along that path; with the store
behind it, a path whose prefix was trained before reuses it, so `trainings_needed` counts distinct
prefixes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Callable

Path_ = tuple[str, ...]


def all_paths(teacher: str, student: str, assistants: list[str] | tuple[str, ...]) -> list[Path_]:
    """Every path through a subset of `assistants` (given large to small), shortest first."""
    return [(teacher, *subset, student) for k in range(len(assistants) + 1) for subset in combinations(assistants, k)]


def trainings_needed(paths: list[Path_]) -> int:
    """Distinct models trained to evaluate these paths (shared prefixes are trained once)."""
    return len({p[:i] for p in paths for i in range(1, len(p) + 1)})


@dataclass
class SearchResult:
    best_path: Path_
    best_score: float
    evaluated: list[Path_] = field(default_factory=list)  # every path whose last model was evaluated

    @property
    def trainings(self) -> int:
        return trainings_needed(self.evaluated)


def exhaustive_search(teacher: str, student: str, assistants, evaluate: Callable[[Path_], float],
                      max_assistants: int | None = None) -> SearchResult:
    """Evaluate every path with at most `max_assistants` TAs; ties go to the shorter (cheaper) path."""
    k = len(assistants) if max_assistants is None else max_assistants
    paths = [p for p in all_paths(teacher, student, assistants) if len(p) - 2 <= k]
    scores = {p: evaluate(p) for p in paths}
    best = max(paths, key=lambda p: (scores[p], -len(p)))
    return SearchResult(best, scores[best], paths)


def dp_search(models: list[str] | tuple[str, ...], evaluate: Callable[[Path_], float],
              max_assistants: int) -> SearchResult:
    """The TAKD paper's dynamic programme over (model, distillation steps).

    models: teacher first, student last, assistants between, large to small. The best path reaching
    models[i] in exactly j steps is taken to extend the best path reaching some larger model in j - 1
    steps (optimal substructure: the most accurate TA of each depth is the best teacher below it).
    That costs O(k n^2) evaluations instead of one per subset of assistants.
    """
    student = len(models) - 1
    reach: dict[int, Path_] = {0: (models[0],)}  # best path to models[i] in the previous number of steps
    evaluated: list[Path_] = []
    finals: list[tuple[float, int, Path_]] = []
    for steps in range(1, max_assistants + 2):
        targets = range(1, len(models)) if steps <= max_assistants else [student]
        layer: dict[int, tuple[float, int, Path_]] = {}
        for i in targets:
            options = [reach[u] + (models[i],) for u in reach if u < i]
            if options:
                evaluated += options
                layer[i] = max((evaluate(p), -len(p), p) for p in options)
        if student in layer:
            finals.append(layer.pop(student))
        reach = {i: path for i, (_, _, path) in layer.items()}
    score, _, path = max(finals)
    return SearchResult(path, score, evaluated)


def substructure(path: Path_, models: list[str] | tuple[str, ...], evaluate: Callable[[Path_], float]) -> list[dict]:
    """The DP's assumption checked on one path: for each TA on `path`, is the path's prefix ending there the
    best-scoring path to that TA in as many steps? One dict per TA whose prefix had a rival (a prefix that is
    the only path of its length to its TA cannot fail): ``prefix``, ``best`` (the best such path), ``holds`` and
    a ``text`` for a table. models: teacher first, student last, assistants between."""
    out = []
    for i in range(2, len(path) - 1):  # prefixes with at least two steps: one step is a single candidate each
        prefix = path[:i + 1]
        between = [m for m in models[1:-1] if models.index(m) < models.index(prefix[-1])]
        rivals = [(models[0], *mid, prefix[-1]) for mid in combinations(between, i - 1)]
        if len(rivals) < 2:
            continue
        best = max(rivals, key=lambda p: (evaluate(p), p == prefix))
        holds = best == prefix
        text = (f"{'→'.join(prefix)} is the best {i}-step path to {prefix[-1]}" if holds else
                f"{'→'.join(prefix)} ({evaluate(prefix):.2f}) is not the best {i}-step path to {prefix[-1]}: "
                f"{'→'.join(best)} ({evaluate(best):.2f})")
        out.append(dict(prefix=prefix, best=best, holds=holds, text=text))
    return out
