"""Where polc's own data lives: the JSON Schemas and the shipped rule library."""

from pathlib import Path

#: The repository (or installed source tree) root: ``compiler/`` sits directly below it.
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = PACKAGE_ROOT / "schemas"
STDLIB_DIR = PACKAGE_ROOT / "stdlib"
