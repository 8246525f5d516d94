"""Stationary Gaussian fields on periodic lattices via the FFT.

K_ij = C(r_ij) is circulant, so K = F^-1 diag(lambda) F with lambda = FFT of
the stencil C(r(offset)). Sampling, inversion and the positivity check all
work on lambda in O(N log N) and never form an N x N matrix.
"""
from __future__ import annotations

import numpy as np

from trsp_core.errors import ParameterError
from trsp_core.physics.lattice import Lattice


def spectrum(lattice: Lattice, func) -> np.ndarray:
    """Eigenvalues of the circulant matrix K_ij = func(r_ij), shaped like the lattice."""
    stencil = func(lattice.stencil_distances())
    # The stencil is real and even, so its FFT is real up to rounding.
    return np.fft.fftn(stencil).real


def check_spectrum(lam: np.ndarray, what: str, tol: float = 0.0) -> None:
    """Raise a ParameterError naming ``what`` if an eigenvalue is <= tol."""
    lo = float(lam.min())
    if not lo > tol:
        q = np.unravel_index(int(lam.argmin()), lam.shape)
        raise ParameterError(
            f"{what} is not positive definite on this lattice: smallest eigenvalue "
            f"{lo:.4g} at reciprocal index {tuple(int(x) for x in q)} (must be > {tol:g})"
        )


def checked_spectrum(lattice: Lattice, params, kicks: bool = True) -> np.ndarray:
    """Spectrum of a descriptor's C(r) on ``lattice``, checked positive definite, and its kick
    correlation rho(r) checked positive semi-definite (``kicks``, unless a reset kick). The
    error names the form (its numbers or its profile) and, for a temperature-dependent
    form, the temperature it was evaluated at (``params.at(T)``)."""
    at = f", T={params.resolved_at:g}" if getattr(params, "resolved_at", None) else ""

    def what(name, which):
        form = params.describe_form(which)  # names T itself for a temperature-dependent form
        return f"{name} ({form}, a={lattice.spacing}, lattice {lattice.shape}{'' if ' at T=' in form else at})"

    lam = spectrum(lattice, params.correlation)
    check_spectrum(lam, what("covariance C(r)", "C"))
    if kicks and not params.reset:
        check_spectrum(spectrum(lattice, params.kick_correlation), what("kick correlation rho(r)", "rho"), tol=-1e-12)
    return lam


def sample(lam: np.ndarray, mean: float, rng: np.random.Generator, size: int | None = None) -> np.ndarray:
    """Draw from Normal(mean, K) where lam is the spectrum of K; returns (N,) or (size, N)."""
    shape = lam.shape
    n = 1 if size is None else int(size)
    noise = rng.standard_normal((n, *shape))
    axes = tuple(range(1, len(shape) + 1))
    field = np.fft.ifftn(np.sqrt(np.clip(lam, 0, None)) * np.fft.fftn(noise, axes=axes), axes=axes).real
    out = mean + field.reshape(n, -1)
    return out[0] if size is None else out


def apply(lam: np.ndarray, x: np.ndarray, power: float = 1.0) -> np.ndarray:
    """K^power x for a flat vector x, using the spectrum."""
    shape = lam.shape
    y = np.fft.ifftn(lam**power * np.fft.fftn(x.reshape(shape))).real
    return y.reshape(-1)


def stencil(lam: np.ndarray, power: float = 1.0) -> np.ndarray:
    """The stencil of K^power (e.g. power=-1: column 0 of K^-1), flat."""
    return np.fft.ifftn(lam**power).real.reshape(-1)


def dense(lattice: Lattice, func) -> np.ndarray:
    """Dense K_ij = func(r_ij): only for small lattices and tests."""
    return func(lattice.distance_matrix())
