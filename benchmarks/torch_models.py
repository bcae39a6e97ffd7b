"""PyTorch twins of scratchnet's assignment models, for ``benchmarks/train_speed.py``.

Imported only inside the benchmark's PyTorch subprocess: scratchnet itself never needs torch.
The layer widths, activations and dropout match ``examples/q2a_autoencoders.py`` (the autoencoders) and
``examples/coursework/models.py`` (dis_net) exactly, so the
two libraries do the same arithmetic per step.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from q2a_autoencoders import ENCODER_WIDTHS
from torch import nn


def _dense_stack(widths, last_activation):
    layers = []
    for i, (n_in, n_out) in enumerate(pairwise(widths)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
        elif last_activation is not None:
            layers.append(last_activation)
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    """784 -> ... -> latent -> ... -> 784, ReLU inside (and on the latent), sigmoid on the output."""

    def __init__(self, latent: int):
        super().__init__()
        widths = ENCODER_WIDTHS[latent]
        self.encoder = _dense_stack(widths, nn.ReLU())
        self.decoder = _dense_stack(widths[::-1], nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


def dis_net() -> nn.Sequential:
    """Conv(64) ReLU Pool Drop(.25); Conv(32) ReLU Pool Drop(.25); Conv(16) ReLU Pool Drop(.25);
    Flatten; Dense(8) ReLU Drop(.5); Dense(1): one logit per image."""
    return nn.Sequential(
        nn.Conv2d(1, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Conv2d(64, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Conv2d(32, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(),
        nn.Linear(16, 8), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(8, 1),
    )


def build(kind: str, latent: int | None = None) -> nn.Module:
    torch.manual_seed(0)
    return Autoencoder(latent) if kind == "autoencoder" else dis_net()
