"""CEL values as plain Python values.

=========  ==========================================
CEL type   Python
=========  ==========================================
int        ``int`` (64-bit signed; overflow is an error)
uint       :class:`CelUint` (an ``int`` subclass, 0..2**64-1)
double     ``float``
bool       ``bool``
string     ``str``
bytes      ``bytes``
null_type  ``None``
list       ``list`` (or tuple)
map        ``dict``
type       :class:`CelType`
=========  ==========================================

>>> CelUint(3) + 1, type(CelUint(3))
(4, <class 'compiler.cel.values.CelUint'>)
"""

from __future__ import annotations

INT64_MIN = -(2 ** 63)
INT64_MAX = 2 ** 63 - 1
UINT64_MAX = 2 ** 64 - 1


class CelUint(int):
    """A CEL ``uint``: an ``int`` that remembers it is unsigned (``1u`` is ``CelUint(1)``).

    Arithmetic on it in plain Python gives a plain ``int``; CEL arithmetic is done by
    :mod:`compiler.cel.semantics`, which keeps the type and checks the range.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{int(self)}u"


class CelType:
    """A CEL type value: ``type(1) == int``. Equal by name.

    >>> CelType("int") == CelType("int"), CelType("int")
    (True, int)
    """

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __eq__(self, other) -> bool:
        return isinstance(other, CelType) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("CelType", self.name))

    def __repr__(self) -> str:
        return self.name


#: Type names that evaluate to type values when used as identifiers (`int`, `list`, ...).
TYPE_DENOTATIONS = frozenset({"int", "uint", "double", "bool", "string", "bytes", "list", "map",
                              "null_type", "type", "google.protobuf.Timestamp",
                              "google.protobuf.Duration"})
