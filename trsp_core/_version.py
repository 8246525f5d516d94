"""The installed distribution's version (one place, imported by provenance and the CLI)."""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("trsp")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
