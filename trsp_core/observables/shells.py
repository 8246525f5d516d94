"""Radial shells on a periodic lattice: group offsets (or q vectors) by length."""
from __future__ import annotations

import numpy as np


def shell_index(lengths: np.ndarray, decimals: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """(unique shell lengths, index of each entry's shell)."""
    r = np.round(np.asarray(lengths, float).reshape(-1), decimals)
    values, inverse = np.unique(r, return_inverse=True)
    return values, inverse


def shell_mean(values: np.ndarray, inverse: np.ndarray, n_shells: int) -> np.ndarray:
    """Mean of ``values`` (..., M) over each shell along the last axis -> (..., n_shells)."""
    v = np.asarray(values)
    counts = np.bincount(inverse, minlength=n_shells)
    flat = v.reshape(-1, v.shape[-1])
    out = np.stack([np.bincount(inverse, weights=row, minlength=n_shells) for row in flat]) / counts
    return out.reshape(*v.shape[:-1], n_shells)


def wavevectors(lattice) -> np.ndarray:
    """|q| of every reciprocal vector of the periodic lattice, shaped like the lattice (1/sigma)."""
    if hasattr(lattice, "wavevectors"):  # skewed Bravais lattices know their reciprocal basis
        return lattice.wavevectors()
    axes = [2 * np.pi * np.fft.fftfreq(n, d=lattice.spacing) for n in lattice.shape]
    grids = np.meshgrid(*axes, indexing="ij")
    return np.sqrt(sum(g**2 for g in grids))
