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
from ..spelling import spell

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
        return f"has an unknown format {spell(meta.get('format'))}/{spell(meta.get('dtype'))}"
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
    return read_npy(path, label, span, code)[0]


def read_npy(path: Path, label: str, span: Span | None = None, code: str = "POLC330"):
    """(array, the file's bytes) of a ``.npy`` file read once, without pickle.

    The header is checked before any array is made: a plain (non-object, non-structured)
    dtype, a shape of non-negative integers, and a data size that is exactly the file's
    remaining bytes, so a header claiming a huge shape allocates nothing and a file with
    bytes after the data (or fewer than the shape needs) is refused.
    """
    import numpy as np

    def fail(message: str, hint: str = _SAVE_HINT) -> InputError:
        return InputError(message, [Diagnostic.error(code, message, span, hint=hint)])

    data = _read_weights_file(path, label, fail)
    if not data.startswith(b"\x93NUMPY"):  # np.load would guess pickle for any other file
        raise fail(f"`{label}` is not a .npy file (it does not start with the .npy magic bytes)")
    shape, fortran_order, dtype, offset = _npy_header(data, label, fail)
    count = 1
    for n in shape:
        count *= n
    expected, available = count * dtype.itemsize, len(data) - offset
    if expected != available:
        what = "is truncated" if available < expected else "has bytes after the array data"
        raise fail(f"`{label}` {what}: its header describes {dtype.name}{list(shape)} ({expected:,} bytes) "
                   f"but {available:,} bytes follow the header",
                   "the file was cut off or appended to; save the array again with numpy.save")
    array = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return array.reshape(shape, order="F" if fortran_order else "C").copy(), data


_SAVE_HINT = ("save it with numpy.save(path, array, allow_pickle=False) as float32 or float64; "
              "pickled legacy weights go through `polc migrate --allow-pickle`")


def _read_weights_file(path: Path, label: str, fail) -> bytes:
    from ..fsutil import FileTooLarge, NotARegularFile, read_regular_file

    try:
        return read_regular_file(path, MAX_WEIGHTS_BYTES)
    except FileNotFoundError:
        raise fail(f"`{label}` does not exist", "check the path") from None
    except NotARegularFile as exc:
        raise fail(f"`{label}` is {exc.kind}, expected a regular .npy file",
                   "name a file written by numpy.save") from None
    except FileTooLarge:
        raise fail(f"`{label}` is larger than {MAX_WEIGHTS_BYTES:,} bytes", "split or compress the parameters") from None
    except OSError as exc:
        raise fail(f"`{label}` cannot be read: {exc.strerror or exc}", "check the file's permissions") from None


def _npy_header(data: bytes, label: str, fail) -> tuple[tuple[int, ...], bool, Any, int]:
    """(shape, fortran_order, dtype, data offset) from a .npy header, or ``fail``."""
    import io

    from numpy.lib import format as npy_format

    stream = io.BytesIO(data)
    try:
        version = npy_format.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = npy_format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran_order, dtype = npy_format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"format version {version[0]}.{version[1]} is not supported (1.0 and 2.0 are)")
    except Exception as exc:  # noqa: BLE001 - numpy reports a damaged header as ValueError, TokenError, SyntaxError...
        raise fail(f"`{label}` has a damaged .npy header ({_header_problem(exc)})") from None
    if dtype.hasobject:
        raise fail(f"`{label}` holds Python objects, which can only be read by unpickling them",
                   "polc never unpickles; save a float32 or float64 array")
    if dtype.fields is not None or dtype.subdtype is not None or dtype.itemsize == 0:
        raise fail(f"`{label}` holds a structured or empty dtype ({dtype}); expected plain numbers")
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise fail(f"`{label}` has a damaged .npy header (its shape {list(shape)} has a negative size)")
    return tuple(shape), bool(fortran_order), dtype, stream.tell()


def _header_problem(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    if type(exc).__name__ == "TokenError" or isinstance(exc, SyntaxError):
        return "its header dictionary is cut off or not a Python literal"
    return text[:200] or "unreadable"


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
