"""The TAKD paper's plain CNNs ("plainN" has N conv layers), CIFAR-10 and CIFAR-100 variants.

Specs transcribed from the TAKD code (model_factory.py): each int is a 3x3 conv + BN + ReLU with that
many output channels, "M" a 2x2 max-pool; `fc` lists the hidden fully connected widths.
"""
from __future__ import annotations

import torch
from torch import nn

from .conv import Conv3x3

# (convs and pools, hidden FC widths)
PLAIN_SPECS: dict[int, dict[str, tuple[tuple, tuple]]] = {
    10: {
        "plain2": ((16, "M", 16, "M"), ()),
        "plain4": ((16, 16, "M", 32, 32, "M"), ()),
        "plain6": ((16, 16, "M", 32, 32, "M", 64, 64, "M"), ()),
        "plain8": ((16, 16, "M", 32, 32, "M", 64, 64, "M", 128, 128, "M"), (64,)),
        "plain10": ((32, 32, "M", 64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M"), (128,)),
    },
    100: {
        "plain2": ((32, "M", 32, "M"), ()),
        "plain4": ((32, 32, "M", 64, 64, "M"), ()),
        "plain6": ((32, 32, "M", 64, 64, "M", 128, 128), ()),
        "plain8": ((32, 32, "M", 64, 64, "M", 128, 128, "M", 256, 256, "M"), (64,)),
        "plain10": ((32, 32, "M", 64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M"), (512,)),
    },
}


class PlainCNN(nn.Module):
    """Conv-BN-ReLU blocks (Conv-BN-max-pool-ReLU where the spec pools), then an MLP head.
    Input (B, 3, 32, 32) -> logits (B, classes).

    `forward(x, features=True)` also returns the output of every conv block (a list of
    (B, C, H, W) tensors), so hint losses need no second forward pass.
    """

    def __init__(self, spec: tuple, hidden: tuple, num_classes: int):
        super().__init__()
        stages, in_ch, size = [], 3, 32
        for item in spec:
            if item == "M":
                # pooled before the ReLU, which commutes with a max: the same values and gradients (ties go to
                # the same first position), with the ReLU's two passes on a quarter of the map
                stages[-1].insert(-1, nn.MaxPool2d(2, 2))
                size //= 2
            else:
                stages.append([Conv3x3(in_ch, item), nn.BatchNorm2d(item), nn.ReLU(inplace=True)])
                in_ch = item
        self.blocks = nn.ModuleList(nn.Sequential(*s) for s in stages)
        widths = [in_ch * size * size, *hidden, num_classes]
        head: list[nn.Module] = [nn.Flatten()]
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            head.append(nn.Linear(a, b))
            if i < len(widths) - 2:
                head.append(nn.ReLU(inplace=True))
        self.head = nn.Sequential(*head)

    def forward(self, x: torch.Tensor, features: bool = False):
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        logits = self.head(x)
        return (logits, feats) if features else logits
