"""Array sum tree over cluster rates (numba): O(log Nc) selection and update.

Layout: ``tree[1]`` is the total, node i has children 2i and 2i+1, leaf l is
``tree[P + l]`` with P a power of two >= Nc (padding leaves are 0). The kernel
orders leaves spatially, l = anchor * n_orient + o for the cluster
c = o * N + anchor (:func:`leaf_of`), so the clusters re-rated after one event
share few ancestors and few cache lines; :func:`select` returns the leaf.
Internal nodes are always *recomputed* as left + right (never incremented),
so the tree is a pure function of its leaves: rebuilding it after a checkpoint
reproduces it bit for bit, which keeps resumed runs identical.
"""
from __future__ import annotations

import numpy as np
from numba import njit


def tree_size(n_leaves: int) -> int:
    P = 1
    while P < n_leaves:
        P *= 2
    return P


def leaf_of(c, n_sites: int, n_orient: int):
    """Sum-tree leaf of the public cluster id c (= orientation * N + anchor)."""
    o = c // n_sites
    return (c - o * n_sites) * n_orient + o


def cluster_of(leaf, n_sites: int, n_orient: int):
    """Inverse of :func:`leaf_of`."""
    a = leaf // n_orient
    return (leaf - a * n_orient) * n_sites + a


@njit(cache=True)
def rebuild(tree, P):
    for i in range(P - 1, 0, -1):
        tree[i] = tree[2 * i] + tree[2 * i + 1]


@njit(cache=True)
def select(tree, P, n_leaves, r):
    """Leaf c with cumulative rate below it <= r < that plus its own rate (r in [0, total))."""
    i = 1
    while i < P:
        left = 2 * i
        if r < tree[left]:
            i = left
        else:
            r -= tree[left]
            i = left + 1
    c = i - P
    # Rounding can land on an empty padding leaf or a zero rate: step back to a live one.
    while c > 0 and (c >= n_leaves or tree[P + c] <= 0.0):
        c -= 1
    return c


@njit(cache=True)
def refresh_ancestors(tree, nodes, count):
    """Recompute every ancestor of the leaf nodes nodes[:count], level by level.

    All leaves sit at the same depth, so after each pass every parent's children
    are final. Consecutive duplicates are skipped; a repeated recompute elsewhere
    is harmless (it is idempotent). ``nodes`` is used as scratch.
    """
    while count > 0 and nodes[0] > 1:
        last = -1
        k = 0
        for i in range(count):
            p = nodes[i] >> 1
            if p != last:
                tree[p] = tree[2 * p] + tree[2 * p + 1]
                nodes[k] = p
                k += 1
                last = p
        count = k


def new_tree(n_leaves: int) -> tuple[np.ndarray, int]:
    P = tree_size(n_leaves)
    return np.zeros(2 * P), P
