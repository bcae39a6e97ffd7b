"""The assignment's models, built with scratchnet.nn.

- ``Autoencoder(latent)``: the three dense autoencoders of Q2A/Q2B (latent 2, 16, 256). The lesson
  ``examples/q2a_autoencoders.py`` builds them; they are imported here for Q2B and the benchmarks.
- ``dis_net()``: Q2B's CNN that tells blurred digits (1) from clear ones (0), ending in one logit.
- ``digit_classifier()``: a small CNN that reads the digit, used to judge the deblurred outputs.
- ``assignment_dis_net_head()``: the assignment's broken ending, Dense(1) + softmax, kept to show why
  it cannot work.
"""

from q2a_autoencoders import ENCODER_WIDTHS, LATENT_SIZES, Autoencoder  # noqa: F401  (examples/ is on the path)

from scratchnet import nn


def dis_net(dropout: bool = True) -> nn.Sequential:
    """The assignment's blur discriminator on (N, 1, 28, 28) images -> (N, 1) logits (> 0: blurred).

    Conv(64) ReLU Pool Drop(.25); Conv(32) ReLU Pool Drop(.25); Conv(16) ReLU Pool Drop(.25);
    Flatten; Dense(8) ReLU Drop(.5); Dense(1). Spatial size: 28 -> 26 -> 13 -> 11 -> 5 -> 3 -> 1.
    The logit goes with BCEWithLogitsLoss (the stable form of sigmoid + BCE).
    """
    def drop(p):
        return [nn.Dropout(p)] if dropout else []

    return nn.Sequential(
        nn.Conv2D(1, 64, 3), nn.ReLU(), nn.MaxPool2D(2), *drop(0.25),
        nn.Conv2D(64, 32, 3), nn.ReLU(), nn.MaxPool2D(2), *drop(0.25),
        nn.Conv2D(32, 16, 3), nn.ReLU(), nn.MaxPool2D(2), *drop(0.25),
        nn.Flatten(),
        nn.Dense(16, 8), nn.ReLU(), *drop(0.5),
        nn.Dense(8, 1),
    )


def assignment_dis_net_head() -> nn.Sequential:
    """The assignment's last layer, ``Dense(1, activation='softmax')``: softmax over ONE unit.

    softmax(z) = exp(z) / exp(z) = 1 for every z, so the output is 1.0 for any input and its
    gradient with respect to z is exactly 0: no weight below it can ever learn.
    """
    return nn.Sequential(nn.Dense(8, 1), nn.Softmax(axis=-1))


def digit_classifier() -> nn.Sequential:
    """A small CNN digit reader: (N, 1, 28, 28) -> (N, 10) logits, for CrossEntropyLoss.

    Conv(32) ReLU Pool; Conv(64) ReLU Pool; Flatten (64*5*5); Dense(128) ReLU Dropout(.5); Dense(10).
    """
    return nn.Sequential(
        nn.Conv2D(1, 32, 3), nn.ReLU(), nn.MaxPool2D(2),
        nn.Conv2D(32, 64, 3), nn.ReLU(), nn.MaxPool2D(2),
        nn.Flatten(),
        nn.Dense(64 * 5 * 5, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Dense(128, 10),
    )
