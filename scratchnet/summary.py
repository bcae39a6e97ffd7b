"""Keras' ``model.summary()``: a table of a model's leaf layers, their output shapes and parameter counts.

``Module.summary`` calls ``print_summary``; while it runs, ``Module.__call__`` appends each leaf call to
``calls``, so a layer used twice has two rows and a model of any shape (not only ``Sequential``) is seen.
"""

from . import backend
from .tensor import Tensor, no_grad

calls = None  # while print_summary runs: (leaf module, output shape) of each call, in order


def print_summary(model, input_shape, print_fn=print) -> str:
    """Print (and return) the table. One zero sample of ``input_shape`` (no batch axis: ``(784,)``) runs
    through in eval mode; every module's mode comes back afterwards, even if the forward fails."""
    global calls
    names = {id(module): f"{name} ({type(module).__name__})" for name, module in model.named_modules()}
    modes = [(module, module.training) for _, module in model.named_modules()]
    calls = rows = []
    try:
        with no_grad():
            model.eval()(Tensor(backend.xp.zeros((1, *input_shape), dtype="float32")))
    finally:
        calls = None
        for module, mode in modes:
            object.__setattr__(module, "training", mode)
    rows = [(names.get(id(m), type(m).__name__), f"(None, {', '.join(map(str, shape[1:]))})", m.num_parameters())
            for m, shape in rows]
    width = max([len(layer) for layer, _, _ in rows] + [20])
    header = f"{'Layer (type)':<{width}}  {'Output shape':<20}  {'Param #':>10}"
    lines = [header, "=" * len(header)] + [f"{layer:<{width}}  {shape:<20}  {n:>10,}" for layer, shape, n in rows]
    text = "\n".join(lines + ["=" * len(header), f"Total params: {model.num_parameters():,}"])
    print_fn(text)
    return text
