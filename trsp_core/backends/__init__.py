"""Simulation backends side by side: the dense reference and the numba fast kernel.

Both take a composed model and return a :class:`trsp_core.run.Run`; choose one
with ``simulate(..., backend=...)``.
"""
from trsp_core.backends.simulate import BACKENDS, available_backends, default_hist_edges, resolve_backend, simulate

__all__ = ["BACKENDS", "available_backends", "default_hist_edges", "resolve_backend", "simulate"]
