"""Distillation methods, one module each, behind one interface (`base.Method`); a recipe names its method.

A new method is a module with a `Method` subclass and one line in `METHODS` below; the training loop, the
recipes and the store need no change.
"""
from .attention import Attention
from .base import Method, Step, total
from .dgkd import DGKD
from .fsp import FSP
from .hint import Hint
from .kd import KD
from .scratch import Scratch

METHODS: dict[str, Method] = {m.name: m for m in (Scratch(), KD(), DGKD(), Hint(), Attention(), FSP())}


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
    return METHODS[name]


__all__ = ["METHODS", "Method", "Step", "get_method", "total"]
