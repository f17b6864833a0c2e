"""The feature transforms a surface may name, shared by the checker and the runtime.

Each transform is applied after the value is clipped into the feature's bounds.

| name | result | domain note |
| --- | --- | --- |
| identity | x | |
| log1p | log(1 + x) | lower bound must be > -1 |
| minmax | (x - lower) / (upper - lower), in [0, 1] | needs bounds (default [0, 1]) |
| sqrt | sqrt(x) | lower bound must be >= 0 |
| tanh | tanh(x) | |

>>> sorted(TRANSFORMS)
['identity', 'log1p', 'minmax', 'sqrt', 'tanh']
"""

from __future__ import annotations

#: name -> the smallest lower bound the transform is defined for (exclusive flag), or None.
TRANSFORMS: dict[str, tuple[float, bool] | None] = {
    "identity": None,
    "log1p": (-1.0, True),   # log1p(-1) is -inf
    "minmax": None,
    "sqrt": (0.0, False),
    "tanh": None,
}

#: Combinators of symbolic_descent.operator and the gradients every surface may use;
#: ``<signal>_gradient`` is also known for each declared reward signal.
COMBINATORS = ("concat", "sum", "mean")
BASE_GRADIENTS = ("policy_gradient", "abstention_gradient", "entropy_gradient", "throughput_gradient")
