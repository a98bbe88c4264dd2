"""The installed package's version (from its metadata)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("em-abm")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"
