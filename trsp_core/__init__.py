"""trsp: Time-Reversible Structuro-Plastic lattice models of supercooled liquids.

The core defines the plugin interfaces (descriptors, lattices, cluster rules,
rate laws, observables), the detailed-balance kernel constructor and the
simulators. Concrete implementations live in the ``lattices``, ``descriptors``
and ``plugins`` packages and register through pluggy hooks.
"""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("trsp")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from trsp_core.errors import TRSPError, ParameterError  # noqa: E402
from trsp_core.plugin.hookspecs import hookimpl  # noqa: E402

__all__ = ["__version__", "TRSPError", "ParameterError", "hookimpl"]
