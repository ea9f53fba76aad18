"""Model registry: `build_model("plain4", num_classes=10)`, `build_model("resnet20", 100)`."""
from __future__ import annotations

from torch import nn

from .plain import PLAIN_SPECS, PlainCNN
from .resnet import RESNET_DEPTHS, CifarResNet

PLAIN_NAMES = tuple(f"plain{d}" for d in (2, 4, 6, 8, 10))
RESNET_NAMES = tuple(f"resnet{d}" for d in RESNET_DEPTHS)
MODEL_NAMES = PLAIN_NAMES + RESNET_NAMES


def build_model(name: str, num_classes: int = 10) -> nn.Module:
    """A freshly initialised model by name; plain CNNs follow the CIFAR-10 or CIFAR-100 spec."""
    if name in PLAIN_NAMES:
        spec_set = PLAIN_SPECS[100 if num_classes > 10 else 10]
        spec, hidden = spec_set[name]
        return PlainCNN(spec, hidden, num_classes)
    if name in RESNET_NAMES:
        return CifarResNet(int(name.removeprefix("resnet")), num_classes)
    raise ValueError(f"unknown model {name!r}; known models: {', '.join(MODEL_NAMES)}")


def model_size(name: str) -> int:
    """Depth used to order models from small to large (plainN -> N, resnetN -> N)."""
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(MODEL_NAMES)}")
    return int(name.removeprefix("plain").removeprefix("resnet"))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["build_model", "model_size", "count_parameters", "MODEL_NAMES", "PLAIN_NAMES", "RESNET_NAMES"]
