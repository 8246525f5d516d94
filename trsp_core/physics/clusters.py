"""Cluster rules: which groups of sites rearrange together, and K_Delta distances.

A cluster rule gives, per orientation, the integer offsets of its m sites
relative to an anchor site; every site anchors one cluster per orientation.
The K_Delta distance rule d_c(x) says how far site x is from cluster c.
"""
from __future__ import annotations

import abc

import numpy as np

from trsp_core.errors import ParameterError
from trsp_core.physics.lattice import Lattice

DELTA_RULES = ("nearest", "center-of-mass")


class ClusterRule(abc.ABC):
    """Interface for cluster-rule plugins."""

    name: str = "cluster"

    @abc.abstractmethod
    def orientations(self, lattice: Lattice) -> list[np.ndarray]:
        """One (m, dim) integer offset array per orientation, anchored at the origin."""

    @property
    @abc.abstractmethod
    def m(self) -> int:
        """Number of sites in a cluster."""

    def clusters(self, lattice: Lattice) -> tuple[np.ndarray, np.ndarray]:
        """(sites (Nc, m) int64, orientation (Nc,) int64); cluster id = o * N + anchor."""
        coords = lattice.coords()
        sites, orient = [], []
        for o, offs in enumerate(self.orientations(lattice)):
            sites.append(lattice.index(coords[:, None, :] + offs[None, :, :]))
            orient.append(np.full(lattice.n_sites, o))
        sites = np.concatenate(sites).astype(np.int64)
        # Only anchors at the origin need checking: every cluster is a translate.
        for c in sites[:: lattice.n_sites]:
            if len(set(c.tolist())) != self.m:
                raise ParameterError(
                    f"cluster rule '{self.name}' has coinciding sites on lattice {lattice.shape}: "
                    "the lattice is too small for this cluster"
                )
        return sites, np.concatenate(orient).astype(np.int64)

    def coordination(self, lattice: Lattice, sites: np.ndarray | None = None) -> int:
        """z: how many clusters contain a given site (pass ``sites`` if already built)."""
        if sites is None:
            sites, _ = self.clusters(lattice)
        return int((sites == 0).any(axis=1).sum())


class OffsetClusterRule(ClusterRule):
    """A cluster rule given by explicit offset lists (one per orientation)."""

    def __init__(self, name: str, offsets_by_dim: dict[int, list[list[list[int]]]], description: str = "",
                 kinds: tuple[str, ...] | None = None):
        self.name = name
        self.description = description
        #: lattice kinds the offsets are meant for (None: any lattice of a listed dimension)
        self.kinds = None if kinds is None else tuple(kinds)
        self._by_dim = {d: [np.asarray(o, dtype=np.int64) for o in offs] for d, offs in offsets_by_dim.items()}
        ms = {o.shape[0] for offs in self._by_dim.values() for o in offs}
        if len(ms) != 1:
            raise ParameterError(f"cluster rule '{name}': all orientations must have the same m, got {ms}")
        self._m = ms.pop()

    @property
    def m(self):
        return self._m

    def orientations(self, lattice):
        _check_kind(self, lattice)
        if lattice.dim not in self._by_dim:
            raise ParameterError(
                f"cluster rule '{self.name}' is not defined in {lattice.dim} dimensions "
                f"(defined for {sorted(self._by_dim)})"
            )
        return self._by_dim[lattice.dim]


def _check_kind(rule, lattice) -> None:
    kinds = getattr(rule, "kinds", None)
    if kinds is not None and getattr(lattice, "kind", "hypercubic") not in kinds:
        raise ParameterError(
            f"cluster rule '{rule.name}' is defined on {', '.join(kinds)} lattices, not on "
            f"'{getattr(lattice, 'name', lattice.kind)}' ({lattice.kind})"
        )


class BondClusterRule(ClusterRule):
    """Nearest-neighbour pairs on any lattice: one orientation per +-pair of bond vectors
    (d on hypercubic lattices, 3 on triangular, 6 on fcc, 4 on bcc; z = 2 x that)."""

    name = "bond"
    description = "nearest-neighbour pair (m = 2, z = number of nearest neighbours)"
    kinds = None

    @property
    def m(self):
        return 2

    def orientations(self, lattice):
        zero = np.zeros(lattice.dim, dtype=np.int64)
        return [np.stack([zero, v]) for v in lattice.bond_vectors()]


def kick_distances(lattice: Lattice, offsets: np.ndarray, rule: str) -> np.ndarray:
    """d_c(x) in sigma units for every site x, for the cluster with these offsets at the origin."""
    if rule not in DELTA_RULES:
        raise ParameterError(f"unknown K_Delta distance rule '{rule}'; choose one of: {', '.join(DELTA_RULES)}")
    coords = lattice.coords()
    if rule == "nearest":
        d = lattice.offset_distance(coords[:, None, :] - offsets[None, :, :])
        return d.min(axis=1)
    # Centre of mass of the (unwrapped) offsets, then the nearest periodic image.
    com = offsets.mean(axis=0)
    return np.sqrt((lattice.displacement(coords - com) ** 2).sum(-1))
