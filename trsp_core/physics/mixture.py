"""Weighted mixtures of cluster rules: several rearrangement channels on one lattice.

``--cluster "single:0.3+plaquette:0.7"`` makes every site belong to the clusters of
both rules. Weight w_c is the fraction of the observed per-site rate that channel c
carries, so channel c must reproduce the observed law w_c A exp(gamma S - delta S^2).
Because the per-site observed law is the *sum* over channels of each channel's
renormalised bare law, and each channel's inversion (MODEL section 3) is closed form
in A, the joint renormalisation splits into one closed-form inversion per channel
with A_c = w_c A: gamma and delta are shared, A scales. Each channel keeps its own
bare law (A0_c, gamma0_c, delta0_c) and conditions its kick on it, so detailed
balance holds channel by channel (each channel is a time-reversible process on its
own, and a sum of reversible generators with the same stationary law is reversible).

Clusters of different m share one (Nc, m_max) site table: a smaller cluster's row
repeats its first site in the unused slots, and event logs pad S_before/S_after
with NaN there. ``Model.cluster_m`` gives each cluster's true size.
"""
from __future__ import annotations

import math

import numpy as np

from trsp_core.errors import ParameterError
from trsp_core.physics.clusters import ClusterRule

#: weights must add up to 1 within this
WEIGHT_TOL = 1e-9


def parse(text: str) -> list[tuple[str, float]] | None:
    """``"single:0.3+plaquette:0.7"`` -> [("single", 0.3), ("plaquette", 0.7)]; a plain name -> None."""
    text = str(text).strip()
    if "+" not in text and ":" not in text:
        return None
    out = []
    for part in text.split("+"):
        name, sep, w = part.strip().partition(":")
        name = name.strip()
        if not name or not sep:
            raise ParameterError(f"cluster mixture '{text}': each channel is name:weight (e.g. "
                                 f"'single:0.3+plaquette:0.7'), got '{part.strip()}'")
        try:
            weight = float(w)
        except ValueError:
            raise ParameterError(f"cluster mixture '{text}': weight of '{name}' must be a number, got '{w.strip()}'") from None
        if not (math.isfinite(weight) and weight > 0):
            raise ParameterError(f"cluster mixture '{text}': weight of '{name}' must be > 0, got {w.strip()}")
        out.append((name, weight))
    names = [n for n, _ in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ParameterError(f"cluster mixture '{text}': channel(s) {', '.join(dup)} listed twice; give each rule once")
    total = sum(w for _, w in out)
    if abs(total - 1.0) > WEIGHT_TOL:
        raise ParameterError(f"cluster mixture '{text}': the weights are fractions of the observed per-site rate "
                             f"and must add up to 1, they add up to {total:.12g}")
    return out


def resolve(registry, text: str) -> ClusterRule:
    """The cluster rule named by ``text``: a registered rule, or a mixture of registered rules."""
    channels = parse(text)
    if channels is None:
        return registry.get("cluster", text)
    if len(channels) == 1:
        return registry.get("cluster", channels[0][0])
    return MixtureClusterRule([(name, registry.get("cluster", name), w) for name, w in channels])


class MixtureClusterRule(ClusterRule):
    """Several cluster rules at once; orientations are the channels' orientations in order."""

    description = "weighted mixture of cluster rules (weights: fractions of the observed per-site rate)"

    def __init__(self, channels):
        if len(channels) < 2:
            raise ParameterError("a cluster mixture needs at least two channels")
        #: ((name, rule, weight), ...) in the order given
        self.channels = tuple((str(n), rule, float(w)) for n, rule, w in channels)
        self.name = "+".join(f"{n}:{w:g}" for n, _, w in self.channels)

    @property
    def m(self) -> int:
        return max(rule.m for _, rule, _ in self.channels)

    def orientations(self, lattice):
        return [offs for _, rule, _ in self.channels for offs in rule.orientations(lattice)]

    def orientation_channel(self, lattice) -> np.ndarray:
        """(n_orientations,) channel index of every orientation."""
        return np.concatenate([np.full(len(rule.orientations(lattice)), c, np.int64)
                               for c, (_, rule, _) in enumerate(self.channels)])

    def clusters(self, lattice):
        m_max = self.m
        sites, orient, n_o = [], [], 0
        for _, rule, _ in self.channels:
            s, o = rule.clusters(lattice)
            # unused slots repeat the first site: every index stays a valid site
            sites.append(np.concatenate([s, np.repeat(s[:, :1], m_max - s.shape[1], axis=1)], axis=1))
            orient.append(o + n_o)
            n_o += len(rule.orientations(lattice))
        return np.concatenate(sites).astype(np.int64), np.concatenate(orient).astype(np.int64)

    def coordination(self, lattice, sites=None) -> int:
        """Clusters (of every channel) containing a given site."""
        return int(sum(rule.coordination(lattice) for _, rule, _ in self.channels))
