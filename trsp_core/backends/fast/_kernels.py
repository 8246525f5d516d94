"""The numba event loop of the fast Gillespie kernel.

Per event the work is local: |V| index computations, one |W| x |W| matvec for
the mean kick (G) and a triangular one for the noise, the |W| x n_stencil
update Z += K^-1 Delta S summed per output segment in vector registers, and the
re-rating of the clusters that meet W with an O(log Nc) sum-tree refresh.
Nothing here is O(N) except the snapshot copies the caller asks for.

The loop stops (without touching the random stream) after a given number of
events, so Python can refresh Z, report progress and checkpoint in between:
chunk boundaries never change the trajectory.
"""
from __future__ import annotations

import math

import numpy as np

from numba import njit

from trsp_core.backends.fast._rng import fill_normals, next_double
from trsp_core.backends.fast._simd import fexp, prefetch, segment_sum, segment_sum8
from trsp_core.backends.fast._sumtree import rebuild, refresh_ancestors, select

DONE_BUDGET = 0    # the chunk's event budget is used up
DONE_DURATION = 1  # the next event would fall beyond the duration


@njit(cache=True, inline="always")
def _exponent(ssum, inv_m, gamma0, delta0):
    sb = ssum * inv_m
    return gamma0 * sb - delta0 * sb * sb


@njit(cache=True, inline="always")
def _rate(ssum, inv_m, a0d, gamma0, delta0):
    # The event loop computes the same two steps in separate loops: identical bits.
    return a0d * fexp(_exponent(ssum, inv_m, gamma0, delta0))


@njit(cache=True)
def bin_of(x, edges):
    """np.searchsorted(edges, x, 'right') - 1, or -1 outside [edges[0], edges[-1]).

    Starts from the guess of evenly spaced edges and walks to the exact bin, so
    it is exact for any increasing edges and O(1) for the usual uniform ones.
    """
    nb = edges.shape[0] - 1
    lo = edges[0]
    hi = edges[nb]
    if not (x >= lo and x < hi):  # also NaN
        return -1
    g = (x - lo) / (hi - lo) * nb
    b = int(g) if g < nb else nb - 1
    if b < 0:
        b = 0
    while b > 0 and edges[b] > x:
        b -= 1
    while b < nb - 1 and edges[b + 1] <= x:
        b += 1
    return b


@njit(cache=True)
def init_bins(S, edges, site_bin, counts):
    counts[:] = 0
    for i in range(S.shape[0]):
        b = bin_of(S[i], edges)
        site_bin[i] = b
        if b >= 0:
            counts[b] += 1


@njit(cache=True)
def full_rates(S, cluster_sites, tree, P, n_orient, om, inv_m, a0d, gamma0, delta0):
    """All leaves from S (same summation order as the incremental update), then the tree.

    The rate law is per orientation (``om`` its true cluster size, ``inv_m`` = 1/om):
    a cluster mixture has one bare law per channel.

    Leaves are ordered spatially: cluster c = o * N + anchor sits at leaf
    anchor * n_orient + o (see :func:`trsp_core.backends.fast._sumtree.leaf_of`).
    """
    tree[:] = 0.0
    N = cluster_sites.shape[0] // n_orient
    for c in range(cluster_sites.shape[0]):
        o = c // N
        s = 0.0
        for j in range(om[o]):
            s += S[cluster_sites[c, j]]
        tree[P + (c - o * N) * n_orient + o] = _rate(s, inv_m[o], a0d[o], gamma0[o], delta0[o])
    rebuild(tree, P)


@njit(cache=True, inline="always")
def _site(wrap, R, ax, ay, az, dx, dy, dz):
    return wrap[0, ax + dx + R] + wrap[1, ay + dy + R] + wrap[2, az + dz + R]


@njit(cache=True)
def kick_mean(G, Gu, o, nw, coef, Zw, out):
    """out = coef * G u_W - G Z_W (G symmetric: row j is column j, so axpy over rows vectorises)."""
    for i in range(nw):
        out[i] = coef * Gu[o, i]
    for j in range(nw):
        zj = -Zw[j]
        for i in range(nw):
            out[i] += G[o, j, i] * zj


@njit(cache=True)
def run_chunk(
    # state (mutated)
    S, Z, s_int, last_t, site_bin, counts, occupancy, tree, rng, fstate, istate, snaps, acc,
    # this chunk
    budget, duration, snap_times, edges, ev_t, ev_c, ev_before, ev_after,
    # tables
    P, n_clusters, shape3, R, wrap, nW, nV, Voff, cV, G, Gu, LT, n_seg, seg, ent_p, ent_k, kpad,
    n_aff, aff_o, aff_off, aff_sv,
    # rate law, per orientation
    om, inv_m, a0d, gamma0, delta0,
    # scratch
    gV, Zw, xi, dS, nodes, Sv, xr, ak,
):
    """Run at most ``budget`` events. fstate = [t]; istate = [n_events, next_snapshot].

    Returns (events done in this chunk, DONE_BUDGET | DONE_DURATION).
    """
    N = S.shape[0]
    n_o = nW.shape[0]
    nb = counts.shape[0]
    m = cV.shape[1]
    L1 = shape3[1]
    L2 = shape3[2]
    n_snap = snap_times.shape[0]
    t = fstate[0]
    next_snap = istate[1]
    done = 0
    status = DONE_BUDGET
    while done < budget:
        k_tot = tree[1]
        dt = -math.log(1.0 - next_double(rng)) / k_tot
        t_next = min(t + dt, duration)
        while next_snap < n_snap and snap_times[next_snap] <= t_next:
            snaps[next_snap, :] = S
            next_snap += 1
        w = t_next - t
        for b in range(nb):
            occupancy[b] += counts[b] * w
        if t + dt >= duration:
            t = duration
            status = DONE_DURATION
            break
        t += dt

        # --- which cluster -------------------------------------------------------
        leaf = select(tree, P, n_clusters, next_double(rng) * tree[1])
        a = leaf // n_o
        o = leaf - a * n_o
        c = o * N + a  # public cluster id
        ax = a // (L1 * L2)
        ay = (a // L2) % L1
        az = a % L2
        nv = nV[o]
        nw = nW[o]
        # Prefetch what the end of the event writes (sum-tree leaves and their parents, Z
        # segments) so that, on large lattices, the cache misses overlap the matvec below.
        na = n_aff[o]
        for k in range(na):
            leaf = P + _site(wrap, R, ax, ay, az, aff_off[o, k, 0], aff_off[o, k, 1], aff_off[o, k, 2]) * n_o + aff_o[o, k]
            nodes[k] = leaf
            prefetch(tree, leaf)
            prefetch(tree, leaf >> 1)
        for r in range(n_seg[o]):
            gxy = wrap[0, ax + seg[o, r, 0] + R] + wrap[1, ay + seg[o, r, 1] + R]
            prefetch(Z, gxy + wrap[2, az + seg[o, r, 2] + R])
            prefetch(Z, gxy + wrap[2, az + seg[o, r, 2] + seg[o, r, 3] - 1 + R])
        for k in range(nv):
            g = _site(wrap, R, ax, ay, az, Voff[o, k, 0], Voff[o, k, 1], Voff[o, k, 2])
            gV[k] = g
            if k < nw:  # per-site state written after the matvec
                prefetch(s_int, g)
                prefetch(last_t, g)
                prefetch(site_bin, g)
            else:  # read by the re-rating
                prefetch(S, g)
        mo = om[o]
        ssum = 0.0
        for j in range(mo):
            v = S[gV[cV[o, j]]]
            ev_before[done, j] = v
            ssum += v
        for j in range(mo, m):  # padding slots of a smaller cluster (mixtures)
            ev_before[done, j] = np.nan
            ev_after[done, j] = np.nan
        sbar = ssum * inv_m[o]

        # --- Delta S_W = G[(gamma0 - 2 delta0 sbar) u_W - Z_W] + L xi -------------
        for k in range(nw):
            Zw[k] = Z[gV[k]]
        fill_normals(rng, xi, nw)
        coef = gamma0[o] - 2.0 * delta0[o] * sbar
        for i in range(nw):
            dS[i] = coef * Gu[o, i]
        for j in range(nw):  # one pass over G and the (square, zero-padded) noise factor
            zj = -Zw[j]
            xj = xi[j]
            # G is symmetric (row j = column j): one unit-stride axpy that LLVM vectorises.
            # Skipping the zero half of L^T (range(j, nw)) measured 2x slower: the loop no longer vectorises.
            for i in range(nw):
                dS[i] += G[o, j, i] * zj + LT[o, j, i] * xj

        # --- apply: S, lazy time integrals, occupancy bin counts ------------------
        for k in range(nw):
            g = gV[k]
            old = S[g]
            s_int[g] += old * (t - last_t[g])
            last_t[g] = t
            new = old + dS[k]
            S[g] = new
            b_old = site_bin[g]
            b_new = bin_of(new, edges)
            if b_new != b_old:
                if b_old >= 0:
                    counts[b_old] -= 1
                if b_new >= 0:
                    counts[b_new] += 1
                site_bin[g] = b_new
        for j in range(mo):
            ev_after[done, j] = S[gV[cV[o, j]]]

        # --- Z += K^-1 Delta S: per output segment, sum its terms in registers, add once --
        for r in range(n_seg[o]):
            ln = seg[o, r, 3]
            if ln <= 8:
                segment_sum8(acc, kpad, ent_p, ent_k, dS, seg[o, r, 4], seg[o, r, 5])
            else:
                segment_sum(acc, kpad, ent_p, ent_k, dS, seg[o, r, 4], seg[o, r, 5])
            gxy = wrap[0, ax + seg[o, r, 0] + R] + wrap[1, ay + seg[o, r, 1] + R]
            z0 = az + seg[o, r, 2]
            if z0 >= 0 and z0 + ln <= L2:  # no wrap along the last axis: contiguous in Z
                g0 = gxy + z0
                for q in range(ln):
                    Z[g0 + q] += acc[q]
            else:
                for q in range(ln):
                    Z[gxy + wrap[2, z0 + q + R]] += acc[q]

        # --- re-rate the clusters that meet W, then their tree ancestors ----------
        # aff_* are sorted by anchor offset then orientation, so (away from the
        # periodic wrap) the leaves come in increasing order and the level-wise
        # refresh below recomputes each dirty parent once.
        for k in range(nv):  # S on V once, so the sums below read a small local array
            Sv[k] = S[gV[k]]
        for k in range(na):
            o2 = aff_o[o, k]
            s = 0.0
            for j in range(om[o2]):
                s += Sv[aff_sv[o, k, j]]
            xr[k] = _exponent(s, inv_m[o2], gamma0[o2], delta0[o2])
            ak[k] = a0d[o2]
        for k in range(na):  # branch-free exp: this loop vectorises
            xr[k] = ak[k] * fexp(xr[k])
        for k in range(na):  # nodes[:na] = their leaves (computed with the prefetch above)
            tree[nodes[k]] = xr[k]
        refresh_ancestors(tree, nodes, na)

        ev_t[done] = t
        ev_c[done] = c
        done += 1
    fstate[0] = t
    istate[0] += done
    istate[1] = next_snap
    return done, status


@njit(cache=True)
def flush_time_integrals(S, s_int, last_t, t_end):
    """Bring the lazy per-site integrals up to t_end (on a copy-free final pass)."""
    for g in range(S.shape[0]):
        s_int[g] += S[g] * (t_end - last_t[g])
        last_t[g] = t_end


@njit(cache=True)
def window_mean_kick(S, Z, c, N, shape3, R, wrap, nW, Voff, cV, G, Gu, om, inv_m, gamma0, delta0):
    """(global window sites, mean Delta S on them) for cluster c: the kernel's own arithmetic, for checks."""
    o = c // N
    a = c - o * N
    L1 = shape3[1]
    L2 = shape3[2]
    ax = a // (L1 * L2)
    ay = (a // L2) % L1
    az = a % L2
    nw = nW[o]
    g = np.empty(nw, np.int64)
    Zw = np.empty(nw)
    for k in range(nw):
        g[k] = _site(wrap, R, ax, ay, az, Voff[o, k, 0], Voff[o, k, 1], Voff[o, k, 2])
        Zw[k] = Z[g[k]]
    s = 0.0
    for j in range(om[o]):
        s += S[_site(wrap, R, ax, ay, az, Voff[o, cV[o, j], 0], Voff[o, cV[o, j], 1], Voff[o, cV[o, j], 2])]
    out = np.empty(nw)
    kick_mean(G, Gu, o, nw, gamma0[o] - 2.0 * delta0[o] * s * inv_m[o], Zw, out)
    return g, out
