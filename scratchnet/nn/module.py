"""``Module``: the base of every layer and model. Assigning a ``Parameter`` or a ``Module`` as an
attribute registers it, so ``parameters()``, ``named_parameters()`` (dotted names such as
``encoder.0.weight``), ``state_dict()``, ``train()`` and ``eval()`` find everything by themselves."""

from .. import backend
from .. import summary as summary_table
from ..checks import read_state
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that is a learnable weight: it always requires grad."""

    __slots__ = ()

    def __init__(self, data, dtype=None):
        super().__init__(data, requires_grad=True, dtype=dtype)


class Module:
    """Base class. Subclasses set parameters and sub-modules in ``__init__`` and define ``forward``."""

    def __init__(self):
        self.__dict__.update(_parameters={}, _modules={}, training=True)  # not through __setattr__

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() before setting {name!r}")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *inputs):
        out = self.forward(*inputs)
        if summary_table.calls is not None and not self._modules:  # inside summary(): a leaf adds its row
            summary_table.calls.append((self, out.shape))
        return out

    def named_modules(self, prefix="", _seen=None):
        """(dotted name, module) for this module and every sub-module, depth first. A module used in
        several places is listed once, under its first name, as in PyTorch: it is one set of weights."""
        _seen = set() if _seen is None else _seen
        if id(self) not in _seen:
            _seen.add(id(self))
            yield prefix, self
            for name, module in self._modules.items():
                yield from module.named_modules(f"{prefix}.{name}" if prefix else name, _seen)

    def named_parameters(self):
        """(dotted name, parameter) for every parameter, each listed once (under its first name)."""
        seen = set()
        for module_name, module in self.named_modules():
            for name, param in module._parameters.items():
                if id(param) not in seen:
                    seen.add(id(param))
                    yield (f"{module_name}.{name}" if module_name else name), param

    def parameters(self): return [param for _, param in self.named_parameters()]
    def children(self): return list(self._modules.values())
    def num_parameters(self) -> int: return sum(p.size for p in self.parameters())

    def train(self, mode: bool = True):
        """Training mode (dropout active) for this module and every sub-module. Returns self."""
        for _, module in self.named_modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self): return self.train(False)  # dropout off (``no_grad()`` also skips the graph)

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def state_dict(self):
        """Dotted parameter names -> host NumPy copies of their values."""
        return {name: backend.to_numpy(p.data).copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state):
        """Copy ``state`` (a dict as ``state_dict()`` returns) into the parameters, in place. Names
        and shapes must match; nothing changes unless every value fits."""
        params = dict(self.named_parameters())
        values = read_state("load_state_dict", state, {name: (p.shape, p.dtype) for name, p in params.items()})
        for name, param in params.items():
            param.data[...] = values[name]

    def extra_repr(self) -> str: return ""

    def __repr__(self):
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"

    def summary(self, input_shape, print_fn=print) -> str:
        """Print (and return) Keras' table of the leaf layers, output shapes and parameter counts for one
        sample of ``input_shape`` (without the batch axis, e.g. ``(784,)``): ``scratchnet/summary.py``."""
        return summary_table.print_summary(self, input_shape, print_fn)


class Sequential(Module):
    """Layers applied in order, registered as ``0``, ``1``, ... like PyTorch's."""

    def __init__(self, *layers):
        super().__init__()
        for index, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential takes Modules, got {type(layer).__name__} at position {index}")
            setattr(self, str(index), layer)

    def __getitem__(self, index): return list(self._modules.values())[index]
    def __len__(self): return len(self._modules)
    def __iter__(self): return iter(self._modules.values())

    def forward(self, x):
        for layer in self._modules.values():
            x = layer(x)
        return x
