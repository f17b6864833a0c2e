"""The symbolic update operator oplus (docs/storage.md "oplus deltas"): theta_{t+1} = theta_t ⊕ delta_t.

``apply_symbolic_delta`` takes the gradient direction ``delta`` as given, clips it to the
surface's ``max_gradient_norm``, withholds ``damping_factor`` of the step, and descends::

    g    = delta * min(1, max_gradient_norm / ||delta||)
    step = learning_rate * (1 - damping_factor) * g
    theta_{t+1} = theta_t - step

Arithmetic is float64 and the result is rounded once to the weights' dtype; norms are
exact sums (``math.fsum``), so a replay on any machine gives byte-identical weights.

A shape mismatch, a learning rate that is not finite and > 0, and NaN or infinity in the delta
or the weights are refused with ``DeltaError`` (a ``PolcError`` and a ``ValueError``) carrying
the same codes ``polc delta apply`` reports (POLC340, POLC342, POLC332).

>>> import numpy as np
>>> new, info = apply_symbolic_delta(np.array([1.0, 1.0]), np.array([3.0, 4.0]), 0.1, max_gradient_norm=1.0)
>>> [round(x, 12) for x in new.tolist()], info["gradient_norm"], info["clipped"]
([0.94, 0.92], 5.0, True)
"""

from __future__ import annotations

import math
from typing import Any

from ..diagnostics import Diagnostic
from ..errors import PolcError


class DeltaError(PolcError, ValueError):
    """A delta, learning rate or weights the update refuses; nothing was computed."""


def _refuse(code: str, message: str, hint: str) -> DeltaError:
    return DeltaError(message, [Diagnostic.error(code, message, hint=hint)])


def _first_non_finite(array, what: str) -> int | None:
    import numpy as np

    try:
        flat = np.asarray(array, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise _refuse("POLC341", f"the {what} is not an array of numbers", "pass a float32 or float64 numpy array")
    bad = np.flatnonzero(~np.isfinite(flat))
    return int(bad[0]) if bad.size else None


def _is_positive_number(value) -> bool:
    import numbers

    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def l2_norm(array) -> float:
    """Exact (correctly rounded) L2 norm, independent of BLAS and summation order."""
    import numpy as np

    flat = np.asarray(array, dtype=np.float64).ravel()
    return math.sqrt(math.fsum((flat * flat).tolist()))


def apply_symbolic_delta(weights, delta, learning_rate: float, *, max_gradient_norm: float | None = None,
                         damping_factor: float = 0.0) -> tuple[Any, dict[str, Any]]:
    """The updated weights (same dtype and shape) and the numbers ``delta_log.jsonl`` records."""
    import numpy as np

    weights, delta = np.asarray(weights), np.asarray(delta)
    if weights.shape != delta.shape:
        raise _refuse("POLC340", f"delta shape {delta.shape} does not match weights shape {weights.shape}",
                      "a delta has one entry per weight")
    if not _is_positive_number(learning_rate):
        raise _refuse("POLC342", f"learning rate {learning_rate} must be a finite number > 0", "e.g. 0.05")
    at = _first_non_finite(delta, "delta")
    if at is not None:
        raise _refuse("POLC342", f"the delta contains NaN or infinity (first at flat index {at})",
                      "fix the gradient computation; nothing was changed")
    at = _first_non_finite(weights, "weights")
    if at is not None:
        raise _refuse("POLC332", f"the weights contain NaN or infinity (first at flat index {at})",
                      "restore the policy's weights from a bundle that verifies")
    gradient_norm = l2_norm(delta)
    scale = 1.0
    if max_gradient_norm is not None and gradient_norm > max_gradient_norm:
        scale = max_gradient_norm / gradient_norm
    factor = learning_rate * (1.0 - damping_factor) * scale
    step = np.asarray(delta, dtype=np.float64) * factor
    updated = (np.asarray(weights, dtype=np.float64) - step).astype(weights.dtype)
    return updated, {
        "theta_norm_before": l2_norm(weights),
        "theta_norm_after": l2_norm(updated),
        "gradient_norm": gradient_norm,
        "l2_norm": l2_norm(step),
        "clipped": scale < 1.0,
        "step_factor": factor,
    }
