"""Distillation methods, one module each, behind one interface (`base.Method`); a recipe holds its method's
settings (a `recipes.MethodSettings` subclass, which names the method).

A new method is a module with a settings dataclass, a `Method` subclass and one entry in `METHODS` below; the
training loop, the recipes and the store need no change.
"""
from ..recipes import DataSpec, MethodSettings, Optim, Recipe
from .attention import Attention, AttentionSettings
from .base import Method, Progress, Step, total
from .dgkd import DGKD, DGKDSettings
from .dist import DIST, DISTSettings
from .dkd import DKD, DKDSettings
from .fsp import FSP, FSPSettings
from .hint import Hint, HintSettings
from .kd import KD, KDSettings
from .label_smoothing import LabelSmoothing, LabelSmoothingSettings
from .scratch import Scratch

METHODS: dict[str, Method] = {m.name: m for m in (Scratch(), KD(), DGKD(), Hint(), Attention(), FSP(),
                                                  LabelSmoothing(), DIST(), DKD())}


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
    return METHODS[name]


def settings_from_dict(d: dict) -> MethodSettings:
    """The settings that `MethodSettings.as_dict` wrote (a recipe.json's "method")."""
    d = dict(d)
    cls = get_method(d.pop("name")).settings
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def recipe_from_dict(d: dict) -> Recipe:
    """The Recipe that `Recipe.as_dict` (a store's recipe.json) wrote."""
    return Recipe(arch=d["arch"], data=DataSpec(**d["data"]),
                  optim=Optim(**{**d["optim"], "milestones": tuple(d["optim"].get("milestones", ()))}),
                  seed=d["seed"], method=settings_from_dict(d["method"]),
                  guides=tuple(recipe_from_dict(g) for g in d["guides"]),
                  init=None if d["init"] is None else recipe_from_dict(d["init"]), profile=d["profile"],
                  role=d.get("role", ""))


__all__ = ["METHODS", "AttentionSettings", "DGKDSettings", "DISTSettings", "DKDSettings", "FSPSettings",
           "HintSettings", "KDSettings", "LabelSmoothingSettings", "Method",
           "MethodSettings", "Progress", "Step", "get_method", "recipe_from_dict", "settings_from_dict", "total"]
