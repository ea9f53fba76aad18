import random

import pytest

from takdlib.paths import all_paths, dp_search, exhaustive_search, trainings_needed

MODELS = ["plain10", "plain8", "plain6", "plain4", "plain2"]


def test_all_paths_through_subsets():
    paths = all_paths("plain10", "plain2", ["plain8", "plain6", "plain4"])
    assert len(paths) == 8 and paths[0] == ("plain10", "plain2")
    assert ("plain10", "plain8", "plain6", "plain4", "plain2") in paths
    # the 8 paths share prefixes: 1 teacher + 3+3+1 TAs + 8 students
    assert trainings_needed(paths) == 16


def additive(rng, models):
    """A score with optimal substructure: the sum of per-edge values."""
    w = {(a, b): rng.random() for a in models for b in models}
    return lambda path: sum(w[e] for e in zip(path, path[1:]))


@pytest.mark.parametrize("trial", range(30))
def test_dp_matches_brute_force_when_substructure_holds(trial):
    rng = random.Random(trial)
    models = [f"m{i}" for i in range(rng.randint(3, 7), 0, -1)]
    score = additive(rng, models)
    for k in range(len(models) - 1):
        brute = max((p for p in all_paths(models[0], models[-1], models[1:-1]) if len(p) - 2 <= k), key=score)
        dp = dp_search(models, score, k)
        assert dp.best_path == brute and dp.best_score == pytest.approx(score(brute))
        assert exhaustive_search(models[0], models[-1], models[1:-1], score, k).best_path == brute


@pytest.mark.parametrize("trial", range(30))
def test_dp_never_beats_exhaustive_and_stays_within_k_n_squared(trial):
    rng = random.Random(100 + trial)
    table = {}
    score = lambda p: table.setdefault(p, rng.random())  # noqa: E731  arbitrary, no substructure
    for k in range(4):
        dp = dp_search(MODELS, score, k)
        ex = exhaustive_search(MODELS[0], MODELS[-1], MODELS[1:-1], score, k)
        assert dp.best_score <= ex.best_score
        assert len(dp.best_path) - 2 <= k
        assert len(dp.evaluated) <= (k + 1) * len(MODELS) ** 2


def test_dp_costs_fewer_trainings_than_enumeration_on_long_chains():
    models = [f"m{i}" for i in range(12, 0, -1)]
    score = additive(random.Random(0), models)
    dp = dp_search(models, score, 3)
    ex = exhaustive_search(models[0], models[-1], models[1:-1], score, 3)
    assert dp.best_path == ex.best_path and dp.trainings < ex.trainings
