"""Fast backend: a numba Gillespie kernel with local updates and O(log Nc) work per event.

Importing this package requires numba; :func:`trsp_core.backends.simulate.simulate`
with ``backend="auto"`` picks it whenever the import succeeds. The numba code
lives in the private ``_kernels``, ``_rng`` and ``_sumtree`` modules; this
package exposes only plain Python.
"""
from trsp_core.backends.fast.driver import DEFAULT_TOLERANCE, exact_z, kernel_tables, run

__all__ = ["run", "kernel_tables", "exact_z", "DEFAULT_TOLERANCE"]
