"""Periodic lattices with orthogonal axes (square, simple cubic, ...).

Sites are numbered in C order of their integer coordinates. Every covariance
that depends only on the separation is circulant on such a lattice, so its
eigenvalues are the FFT of one stencil, which is what keeps the model O(N log N).
"""
from __future__ import annotations

import abc

import numpy as np

from trsp_core.errors import ParameterError


class Lattice(abc.ABC):
    """Interface every lattice plugin implements."""

    name: str = "lattice"

    @property
    @abc.abstractmethod
    def shape(self) -> tuple[int, ...]:
        """Number of sites along each axis."""

    @property
    @abc.abstractmethod
    def spacing(self) -> float:
        """Lattice spacing a, in sigma_AA."""

    @property
    def dim(self) -> int:
        return len(self.shape)

    @property
    def n_sites(self) -> int:
        return int(np.prod(self.shape))

    @abc.abstractmethod
    def coords(self) -> np.ndarray:
        """(N, dim) integer coordinates of the sites."""

    def positions(self) -> np.ndarray:
        """(N, dim) site positions in sigma_AA."""
        return self.coords() * self.spacing

    def wrap(self, offsets: np.ndarray) -> np.ndarray:
        """Minimum-image integer offsets (each component in [-L/2, L/2))."""
        L = np.asarray(self.shape)
        return (np.asarray(offsets) + L // 2) % L - L // 2

    def index(self, coords: np.ndarray) -> np.ndarray:
        """Flat site index of (possibly unwrapped) integer coordinates (..., dim)."""
        c = np.asarray(coords) % np.asarray(self.shape)
        return np.ravel_multi_index(tuple(np.moveaxis(c, -1, 0)), self.shape)

    def offset_distance(self, offsets: np.ndarray) -> np.ndarray:
        """Minimum-image distance (sigma units) of integer offsets (..., dim)."""
        w = self.wrap(offsets)
        return np.sqrt((w.astype(float) ** 2).sum(-1)) * self.spacing

    def stencil_distances(self) -> np.ndarray:
        """Distance of every site from site 0, shaped like the lattice (for FFTs)."""
        return self.offset_distance(self.coords()).reshape(self.shape)

    def distance_matrix(self) -> np.ndarray:
        """Dense (N, N) minimum-image distances: only for small lattices."""
        c = self.coords()
        return self.offset_distance(c[:, None, :] - c[None, :, :])

    def translation(self, shift: np.ndarray) -> np.ndarray:
        """perm[i] = index of site coords(i) + shift."""
        return self.index(self.coords() + np.asarray(shift))


class HypercubicLattice(Lattice):
    """Periodic hypercubic lattice of given shape and spacing."""

    def __init__(self, shape: tuple[int, ...], spacing: float, name: str = "hypercubic"):
        shape = tuple(int(s) for s in shape)
        if any(s < 2 for s in shape):
            raise ParameterError(f"lattice size must be >= 2 along every axis, got {shape}")
        if not np.isfinite(spacing) or spacing <= 0:
            raise ParameterError(f"lattice spacing a must be > 0, got {spacing!r}")
        self._shape = shape
        self._a = float(spacing)
        self.name = name
        self._coords = np.stack(np.unravel_index(np.arange(int(np.prod(shape))), shape), -1)

    @property
    def shape(self):
        return self._shape

    @property
    def spacing(self):
        return self._a

    def coords(self):
        return self._coords

    def __repr__(self):
        return f"{self.name}(shape={self._shape}, a={self._a})"
