"""Periodic Bravais lattices: hypercubic (square, simple cubic) and skewed ones (fcc, ...).

Sites are numbered in C order of their integer coordinates in the primitive basis,
on an L x ... x L periodic grid. Every covariance that depends only on the
separation is circulant on that grid whatever the basis, so its eigenvalues are
the FFT of one stencil, which is what keeps the model O(N log N). Only distances
(and wavevectors) see the basis.
"""
from __future__ import annotations

import abc
import itertools

import numpy as np

from trsp_core.errors import ParameterError


class Lattice(abc.ABC):
    """Interface every lattice plugin implements."""

    name: str = "lattice"
    #: geometry family; cluster rules say which families they are defined on
    kind: str = "hypercubic"

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

    @property
    def basis(self) -> np.ndarray:
        """(dim, dim) primitive vectors (rows) in units of the spacing; identity here."""
        return np.eye(self.dim)

    def positions(self) -> np.ndarray:
        """(N, dim) site positions in sigma_AA."""
        return self.coords() * self.spacing

    def displacement(self, offsets: np.ndarray) -> np.ndarray:
        """Minimum-image real-space vectors (..., dim), sigma_AA, of lattice-coordinate offsets
        (integer or fractional, e.g. from a cluster's centre of mass)."""
        L = np.asarray(self.shape)
        w = (np.asarray(offsets, float) + L / 2) % L - L / 2
        return w * self.spacing

    def neighbour_offsets(self) -> np.ndarray:
        """(z_nn, dim) integer offsets of the nearest neighbours, in a fixed order."""
        c = self.wrap(self.coords())
        d = self.offset_distance(c)
        d_nn = d[d > 1e-12].min()
        nn = c[np.abs(d - d_nn) <= 1e-9 * d_nn]
        return nn[np.lexsort(nn.T[::-1])]

    def bond_vectors(self) -> np.ndarray:
        """One integer offset per +-pair of nearest-neighbour vectors (the bond orientations)."""
        nn = self.neighbour_offsets()
        keep = []
        for v in nn:  # keep v when its first non-zero component is positive
            if v[np.flatnonzero(v)[0]] > 0:
                keep.append(v)
        return np.asarray(keep, dtype=np.int64)

    def wavevectors(self) -> np.ndarray:
        """|q| of every reciprocal vector of the periodic grid, shaped like the lattice (1/sigma)."""
        axes = [2 * np.pi * np.fft.fftfreq(n, d=self.spacing) for n in self.shape]
        grids = np.meshgrid(*axes, indexing="ij")
        return np.sqrt(sum(g**2 for g in grids))

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

    def bond_vectors(self):
        return np.eye(self.dim, dtype=np.int64)  # axis order, as the bond rule always had

    def __repr__(self):
        return f"{self.name}(shape={self._shape}, a={self._a})"


# Primitive vectors (rows) with nearest-neighbour distance 1.
_S2, _S3 = np.sqrt(2.0), np.sqrt(3.0)
BASES = {
    "triangular": np.array([[1.0, 0.0], [0.5, _S3 / 2]]),
    "fcc": np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]]) / _S2,
    "bcc": np.array([[-1.0, 1.0, 1.0], [1.0, -1.0, 1.0], [1.0, 1.0, -1.0]]) / _S3,
}


class BravaisLattice(HypercubicLattice):
    """Periodic L x ... x L grid of a Bravais lattice with primitive vectors ``basis``
    (rows, nearest-neighbour distance 1 in these units, so the spacing a is the
    nearest-neighbour distance). The supercell L b_i is skewed, so the minimum
    image is searched over the 3^d cells around the per-axis wrapped offset."""

    def __init__(self, shape, spacing, basis, name: str, kind: str | None = None):
        super().__init__(shape, spacing, name=name)
        B = np.asarray(basis, float)
        if B.shape != (len(self.shape),) * 2 or abs(np.linalg.det(B)) < 1e-12:
            raise ParameterError(f"lattice '{name}': basis must be a non-singular {len(self.shape)}x{len(self.shape)} matrix")
        self._B = B
        self.kind = kind or name
        self._images = np.array(list(itertools.product((-1, 0, 1), repeat=len(self.shape))), dtype=np.int64)

    @property
    def basis(self):
        return self._B

    def positions(self):
        return self.coords() @ self._B * self._a

    def _nearest_image(self, offsets):
        """(wrapped integer/fractional offsets of the nearest image, its real-space vector)."""
        L = np.asarray(self.shape)
        off = np.asarray(offsets)
        if np.issubdtype(off.dtype, np.integer):
            w = (off + L // 2) % L - L // 2
        else:
            w = (off + L / 2) % L - L / 2
        best_w, best_v, best_d2 = w, None, None
        for n in self._images:
            cand = w + n * L
            v = cand @ self._B
            d2 = (v * v).sum(-1)
            if best_d2 is None:
                best_w, best_v, best_d2 = cand, v, d2
                continue
            better = d2 < best_d2 - 1e-12
            best_w = np.where(better[..., None], cand, best_w)
            best_v = np.where(better[..., None], v, best_v)
            best_d2 = np.where(better, d2, best_d2)
        return best_w, best_v * self._a

    def wrap(self, offsets):
        return self._nearest_image(np.asarray(offsets, dtype=np.int64))[0]

    def displacement(self, offsets):
        return self._nearest_image(np.asarray(offsets))[1]

    def offset_distance(self, offsets):
        return np.sqrt((self.displacement(offsets) ** 2).sum(-1))

    def wavevectors(self):
        # q = sum_i (m_i / L_i) b*_i with a_i . b*_j = 2 pi delta_ij; nearest reciprocal image.
        L = np.asarray(self.shape)
        recip = 2 * np.pi * np.linalg.inv(self._B).T / self._a
        m = np.stack(np.meshgrid(*[np.fft.fftfreq(n) * n for n in self.shape], indexing="ij"), -1)
        best = None
        for n in self._images:
            q = ((m + n * L) / L) @ recip
            q2 = (q * q).sum(-1)
            best = q2 if best is None else np.minimum(best, q2)
        return np.sqrt(best)

    def bond_vectors(self):
        return Lattice.bond_vectors(self)  # from the neighbours, not the hypercubic axes
