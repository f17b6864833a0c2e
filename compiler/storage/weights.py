"""``policy.weights.bin``: raw little-endian C-order numbers, described in the snapshot.

The file holds no header and nothing executable; its description lives in the snapshot's
``policy_weights`` block (and so takes part in the content hash) and in the manifest's
``weights`` section::

    {"format": "raw-le@1", "dtype": "float64", "shape": [3], "sha256": "...", "byte_size": 24}

Sources are ``.npy`` files read with ``allow_pickle=False``; pickle is never loaded here.

>>> import numpy as np
>>> data, meta = encode(np.array([1.0, 2.0]))
>>> meta["byte_size"], decode(data, meta).tolist()
(16, [1.0, 2.0])
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic, Span
from ..errors import InputError, IntegrityError

WEIGHTS_FILE = "policy.weights.bin"
FORMAT = "raw-le@1"
#: dtype name -> numpy little-endian type string. Floats only: deltas are real-valued steps.
DTYPES = {"float32": "<f4", "float64": "<f8"}
MAX_WEIGHTS_BYTES = 1 << 30


def encode(array) -> tuple[bytes, dict[str, Any]]:
    """The file bytes and the description of ``array`` (which must be a supported dtype)."""
    import numpy as np

    name = np.dtype(array.dtype).name
    data = np.ascontiguousarray(array, dtype=DTYPES[name]).tobytes()
    return data, {"format": FORMAT, "dtype": name, "shape": list(array.shape),
                  "sha256": hashlib.sha256(data).hexdigest(), "byte_size": len(data)}


def decode(data: bytes, meta: dict, where: str = WEIGHTS_FILE):
    """The array ``data`` holds; IntegrityError if it does not match ``meta`` exactly."""
    import numpy as np

    problem = _mismatch(data, meta)
    if problem:
        raise IntegrityError(f"{where}: {problem}", [Diagnostic.error(
            "POLC333", f"`{where}` {problem}", Span.whole_file(where),
            hint="the weights file was truncated or edited; restore the bundle from its archive (`polc restore`)")])
    return np.frombuffer(data, dtype=DTYPES[meta["dtype"]]).reshape(meta["shape"]).copy()


def _mismatch(data: bytes, meta: dict) -> str | None:
    if meta.get("format") != FORMAT or meta.get("dtype") not in DTYPES:
        return f"has an unknown format {meta.get('format')!r}/{meta.get('dtype')!r}"
    itemsize = int(DTYPES[meta["dtype"]][-1])
    count = 1
    for n in meta["shape"]:
        count *= n
    if len(data) != meta["byte_size"] or len(data) != count * itemsize:
        return f"is {len(data)} bytes; the manifest records {meta['byte_size']} ({meta['dtype']}{meta['shape']})"
    if hashlib.sha256(data).hexdigest() != meta["sha256"]:
        return "does not match its recorded sha256"
    return None


def load_npy(path: Path, label: str, span: Span | None = None, code: str = "POLC330"):
    """Read a ``.npy`` array without pickle; InputError with ``code`` if it cannot be read."""
    import numpy as np

    def fail(message: str, hint: str) -> InputError:
        return InputError(message, [Diagnostic.error(code, message, span, hint=hint)])

    try:
        if path.stat().st_size > MAX_WEIGHTS_BYTES:
            raise fail(f"`{label}` is larger than {MAX_WEIGHTS_BYTES:,} bytes", "split or compress the parameters")
        with open(path, "rb") as fh:
            if fh.read(6) != b"\x93NUMPY":  # np.load would guess pickle for any other file
                raise fail(f"`{label}` is not a .npy file (no \\x93NUMPY header)",
                           "save the array with numpy.save(path, array, allow_pickle=False)")
            fh.seek(0)
            array = np.load(fh, allow_pickle=False)
    except InputError:
        raise
    except FileNotFoundError:
        raise fail(f"`{label}` does not exist", "check the path") from None
    except (OSError, ValueError, EOFError) as exc:
        raise fail(f"`{label}` is not a readable .npy array without pickle: {exc}",
                   "save it with numpy.save(path, array, allow_pickle=False) as float32 or float64; "
                   "pickled legacy weights go through `polc migrate --allow-pickle`") from None
    if not isinstance(array, np.ndarray):
        raise fail(f"`{label}` holds several arrays (.npz); expected one", "save one array with numpy.save")
    return array


def check_array(array, label: str, span: Span | None = None) -> list[Diagnostic]:
    """Diagnostics for a weights array polc cannot store: its dtype, shape or non-finite values."""
    import numpy as np

    if array.dtype.name not in DTYPES:
        return [Diagnostic.error("POLC331", f"`{label}` has dtype {array.dtype}; expected float32 or float64", span,
                                 hint="convert with array.astype(numpy.float64)")]
    if array.ndim == 0 or array.size == 0:
        return [Diagnostic.error("POLC331", f"`{label}` has shape {array.shape}; expected a non-empty array", span)]
    if not np.isfinite(array).all():
        bad = int(np.flatnonzero(~np.isfinite(array.ravel()))[0])
        return [Diagnostic.error("POLC332", f"`{label}` contains NaN or infinity (first at flat index {bad})", span,
                                 hint="weights must be finite numbers")]
    return []
