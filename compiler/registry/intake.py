"""Bundles uploaded to the registry server: verified from their bytes, never trusting the client,
and stored content-addressed in the server's own bundle store (``<bundle_dir>/<hash>/``).

``store_uploaded_bundle`` is the one place that does it, through the bundle package
(compiler/bundle): the server accepts and refuses exactly the bundles every other reader does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

from .errors import RegistryError, invalid

FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def store_uploaded_bundle(files: Mapping[str, bytes], store_dir: Path) -> str:
    """Verify ``files`` (every file of a bundle directory, the manifest included) with the bundle
    package's checks, the ones every reader of a bundle applies, and store them as
    ``store_dir/<hash>/``; the content hash. Storing a bundle that is already there changes nothing."""
    from ..bundle import verify_bundle_files, write_bundle
    from ..errors import IntegrityError, PolcError

    for name in files:
        if not FILE_NAME.match(name):
            raise invalid("POLC808", f"`{name}` is not a plain file name of a bundle")
    try:
        bundle = verify_bundle_files(files, where="uploaded bundle")
        write_bundle(store_dir, bundle)
    except IntegrityError as exc:
        raise _refused(exc.message) from None
    except PolcError as exc:
        raise invalid("POLC808", f"the uploaded bundle cannot be read: {exc.message}") from None
    return bundle.hash


def _refused(message: str) -> RegistryError:
    return RegistryError("INTEGRITY", "POLC808", f"the uploaded bundle does not verify: {message}",
                         hint="upload the files of a bundle exactly as `polc build` wrote them")
