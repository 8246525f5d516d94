"""Per-parameter-set lookup tables for the fast kernel (pure numpy, built once).

Everything is expressed as integer offsets from the anchor of the firing
cluster, so one table per orientation serves every position: a global site
index is ``wrap[0, ax+dx+R] + wrap[1, ay+dy+R] + wrap[2, az+dz+R]``. Lattices
of dimension < 3 are padded with leading axes of length 1.

Three offset sets per orientation o:

* V: the window W (first |W| entries, in WindowKernel order) plus every site
  of a cluster that intersects W (their rates change). Offsets are reduced to
  the minimum image and deduplicated, so on small lattices V never holds one
  site twice.
* affected clusters: (orientation', anchor offset) of every cluster meeting W.
* U: the support of K^-1 Delta S, W (+) stencil, as runs along the last axis
  cut into segments of at most SEG cells. Each segment lists its terms
  (window site k, stencil row shifted to the segment): the kernel sums them in
  a SEG-wide register accumulator and adds the result to Z once
  (:func:`trsp_core.backends.fast._simd.segment_sum`).
"""
from __future__ import annotations

import attrs
import numpy as np

from trsp_core.errors import ParameterError
from trsp_core.backends.fast._simd import SEG

@attrs.frozen(eq=False)
class StencilInfo:
    offsets: np.ndarray   # (n_s, 3) minimum-image offsets kept
    values: np.ndarray    # (n_s,) K^-1 at those offsets
    rel_error: float      # sum |K^-1| outside / sum |K^-1|
    tolerance: float
    exact: bool


def kinv_stencil(model, tolerance: float, exact: bool) -> StencilInfo:
    """Offsets of K^-1 with |K^-1(off)| >= tolerance * K^-1(0) (all N offsets when exact)."""
    if not exact and not (np.isfinite(tolerance) and 0 <= tolerance < 1):
        raise ParameterError(f"tolerance must be in [0, 1), got {tolerance!r}")
    lat = model.lattice
    kinv = model.kinv_stencil
    keep = np.ones(kinv.shape, bool) if exact else np.abs(kinv) >= tolerance * abs(kinv[0])
    total = np.abs(kinv).sum()
    rel = float(np.abs(kinv[~keep]).sum() / total) if total > 0 else 0.0
    offs = _pad3(lat.wrap(lat.coords()[keep]))
    # Sort lexicographically so runs along the last axis are contiguous.
    order = np.lexsort(offs.T[::-1])
    return StencilInfo(offsets=offs[order], values=kinv[keep][order].copy(), rel_error=rel,
                       tolerance=0.0 if exact else float(tolerance), exact=bool(exact))


def _pad3(offsets: np.ndarray) -> np.ndarray:
    offsets = np.asarray(offsets, dtype=np.int64).reshape(len(offsets), -1)
    d = offsets.shape[1]
    if d > 3:
        raise ParameterError(f"the fast kernel supports lattices of dimension <= 3, got {d}")
    return np.concatenate([np.zeros((len(offsets), 3 - d), np.int64), offsets], axis=1)


def _unique_rows(a: np.ndarray) -> np.ndarray:
    """Unique rows keeping first-occurrence order."""
    _, first = np.unique(a, axis=0, return_index=True)
    return a[np.sort(first)]


def _segments(W: np.ndarray, stencil: StencilInfo, kpad_row: int, seg_base: int, e_base: int):
    """Output segments of K^-1 Delta S for window offsets W and the terms that feed each.

    Returns (seg (n, 6): dx, dy, z0, length, first term, end term; ent_p; ent_k).
    A term (k, stencil row r) adds kpad.flat[ent_p : ent_p + SEG] * Delta S_k to
    the segment: kpad row r holds the K^-1 values of stencil row r at columns
    SEG .. SEG + len - 1 and zeros elsewhere, so an offset into it shifts the row.
    """
    srows = _stencil_rows(stencil)
    # Output cells by (dx, dy) row, then maximal runs along the last axis, cut to SEG cells.
    cells = {}
    for w in W:
        for r, ((sx, sy), (z0, vals)) in enumerate(srows):
            key = (int(w[0] + sx), int(w[1] + sy))
            cells.setdefault(key, set()).update(range(int(w[2] + z0), int(w[2] + z0 + len(vals))))
    segs = []
    for (x, y) in sorted(cells):
        zs = sorted(cells[(x, y)])
        start = prev = zs[0]
        for z in zs[1:] + [None]:
            if z is not None and z == prev + 1:
                prev = z
                continue
            for z0 in range(start, prev + 1, SEG):
                segs.append((x, y, z0, min(SEG, prev + 1 - z0)))
            if z is not None:
                start = prev = z
    index = {}
    for i, (x, y, z0, ln) in enumerate(segs):
        index.setdefault((x, y), []).append(i)
    terms = [[] for _ in segs]
    for k, w in enumerate(W):
        for r, ((sx, sy), (z0, vals)) in enumerate(srows):
            key = (int(w[0] + sx), int(w[1] + sy))
            lo, hi = int(w[2] + z0), int(w[2] + z0 + len(vals))
            for i in index[key]:
                _, _, s0, ln = segs[i]
                if lo < s0 + ln and hi > s0:  # the term reaches this segment
                    shift = lo - s0  # column of the row's first value in the segment
                    terms[i].append((k, r * kpad_row + SEG - shift))
    seg = np.zeros((len(segs), 6), np.int64)
    ent_p, ent_k = [], []
    for i, (x, y, z0, ln) in enumerate(segs):
        seg[i, :4] = (x, y, z0, ln)
        seg[i, 4] = e_base + len(ent_p)
        for k, pos in terms[i]:
            ent_k.append(k)
            ent_p.append(pos)
        seg[i, 5] = e_base + len(ent_p)
    return seg, np.asarray(ent_p, np.int64), np.asarray(ent_k, np.int64)


def _stencil_rows(stencil: StencilInfo):
    """[((dx, dy), (first dz, values along dz))] with zeros filling any gap inside a row."""
    rows = {}
    for off, v in zip(stencil.offsets, stencil.values):
        rows.setdefault((int(off[0]), int(off[1])), {})[int(off[2])] = float(v)
    out = []
    for key in sorted(rows):
        zs = rows[key]
        z0, z1 = min(zs), max(zs) + 1
        out.append((key, (z0, np.array([zs.get(z, 0.0) for z in range(z0, z1)]))))
    return out


def _kpad(stencil: StencilInfo):
    """(n_rows, row length) stencil rows at columns SEG.., zero padded for SEG-wide shifted loads."""
    srows = _stencil_rows(stencil)
    lmax = max(len(v) for _, (_, v) in srows)
    kp = np.zeros((len(srows), 2 * SEG + lmax))
    for r, (_, (_, vals)) in enumerate(srows):
        kp[r, SEG: SEG + len(vals)] = vals
    return kp


def _padded(arrays, fill=0, dtype=None):
    """Stack ragged leading dimensions into one array (numba wants rectangular arrays)."""
    n = max(a.shape[0] for a in arrays)
    out = np.full((len(arrays), n, *arrays[0].shape[1:]), fill, dtype=dtype or arrays[0].dtype)
    for i, a in enumerate(arrays):
        out[i, : a.shape[0]] = a
    return out


@attrs.frozen(eq=False)
class KernelTables:
    shape3: np.ndarray      # (3,) lattice shape padded to 3 axes
    R: int                  # offset range covered by `wrap`
    wrap: np.ndarray        # (3, max(shape)+2R): wrapped coordinate * axis stride
    m: int
    n_sites: int
    n_clusters: int
    # per orientation (first axis), zero-padded
    nW: np.ndarray          # (n_o,)
    nV: np.ndarray          # (n_o,)
    Voff: np.ndarray        # (n_o, Vmax, 3)
    cV: np.ndarray          # (n_o, m) positions in V of the firing cluster's sites
    G: np.ndarray           # (n_o, Wmax, Wmax) symmetric: its row j is also its column j
    Gu: np.ndarray          # (n_o, Wmax) G @ u_W
    LT: np.ndarray          # (n_o, Wmax, Wmax) transposed lower Cholesky factor of K_Delta
    n_seg: np.ndarray       # (n_o,)
    seg: np.ndarray         # (n_o, Smax, 6): dx, dy, z0, length, first and end term (into ent_p / ent_k)
    ent_p: np.ndarray       # (n_terms,) offset into kpad.flat of each term's shifted stencil row
    ent_k: np.ndarray       # (n_terms,) window position of each term's Delta S
    kpad: np.ndarray        # (n_stencil_rows, 2 SEG + longest row) zero-padded stencil rows
    n_aff: np.ndarray       # (n_o,)
    aff_o: np.ndarray       # (n_o, Amax) orientation of each affected cluster
    aff_off: np.ndarray     # (n_o, Amax, 3) its anchor offset
    aff_sv: np.ndarray      # (n_o, Amax, m) positions in V of its sites (cluster order)
    kvals: np.ndarray       # (n_s,) the kept values, for reporting
    stencil: StencilInfo
    cluster_offsets: np.ndarray  # (n_o, m, 3)
    # the rate law per orientation (a cluster mixture has one bare law per channel)
    om: np.ndarray          # (n_o,) true cluster size of each orientation (<= m)
    inv_m: np.ndarray       # (n_o,) 1 / om
    a0d: np.ndarray         # (n_o,) A0 / d
    gamma0: np.ndarray      # (n_o,)
    delta0: np.ndarray      # (n_o,)

    @property
    def n_orientations(self) -> int:
        return int(self.nW.shape[0])


def build_tables(model, tolerance: float = 1e-4, exact: bool = False) -> KernelTables:
    lat = model.lattice
    shape3 = np.asarray((1,) * (3 - lat.dim) + tuple(lat.shape), np.int64)
    stencil = kinv_stencil(model, tolerance, exact)
    n_o = len(model.orientations)
    m = model.cluster_sites.shape[1]

    def wrap3(offs):
        return (offs + shape3 // 2) % shape3 - shape3 // 2

    # Orientations of a smaller m (cluster mixtures) repeat their first site up to m:
    # every table stays rectangular, and the kernel reads only the first om[o] slots.
    om = np.asarray(model.orientation_m, np.int64)
    corient = [wrap3(_pad3(np.concatenate([o, np.repeat(o[:1], m - len(o), axis=0)]))) for o in model.orientations]
    kernels = [model.window_kernel(o) for o in range(n_o)]
    Ws = [_pad3(k.window_offsets) for k in kernels]

    kpad = _kpad(stencil)
    Voffs, cVs, segs, ent_ps, ent_ks, aff_os, aff_offs, aff_svs = [], [], [], [], [], [], [], []
    n_terms = 0
    for o, W in enumerate(Ws):
        # Clusters meeting W: anchor = w - (site offset), reduced and deduplicated per orientation.
        aff_o, aff_off = [], []
        for o2, co in enumerate(corient):
            anchors = _unique_rows(wrap3((W[:, None, :] - co[None, :, :]).reshape(-1, 3)))
            aff_o.append(np.full(len(anchors), o2, np.int64))
            aff_off.append(anchors)
        aff_o = np.concatenate(aff_o)
        aff_off = np.concatenate(aff_off)
        # Spatial order (anchor offset, then orientation) = increasing sum-tree leaf away from the wrap.
        order = np.lexsort((aff_o, aff_off[:, 2], aff_off[:, 1], aff_off[:, 0]))
        aff_o, aff_off = aff_o[order], aff_off[order]
        aff_sites = wrap3(aff_off[:, None, :] + np.stack([corient[k] for k in aff_o]))  # (A, m, 3)
        V = _unique_rows(np.concatenate([W, corient[o], aff_sites.reshape(-1, 3)]))
        if not (V[: len(W)] == W).all():
            raise AssertionError("window sites must lead V")
        key = {tuple(v): i for i, v in enumerate(V)}
        cV = np.array([key[tuple(s)] for s in corient[o]], np.int64)
        aff_sv = np.array([[key[tuple(s)] for s in row] for row in aff_sites], np.int64)
        seg, ent_p, ent_k = _segments(W, stencil, kpad.shape[1], 0, n_terms)
        n_terms += len(ent_p)
        Voffs.append(V)
        cVs.append(cV)
        segs.append(seg)
        ent_ps.append(ent_p)
        ent_ks.append(ent_k)
        aff_os.append(aff_o)
        aff_offs.append(aff_off)
        aff_svs.append(aff_sv)

    seg_lo = np.concatenate([sg[:, :3] for sg in segs])
    seg_hi = np.concatenate([sg[:, :3] + np.column_stack([0 * sg[:, 3], 0 * sg[:, 3], sg[:, 3]]) for sg in segs])
    R = int(max(np.abs(np.concatenate(Voffs)).max(), np.abs(np.concatenate(aff_offs)).max(),
                np.abs(seg_lo).max(), np.abs(seg_hi).max())) + 1
    Lmax = int(shape3.max())
    wrap = np.zeros((3, Lmax + 2 * R), np.int64)
    axis_stride = np.array([shape3[1] * shape3[2], shape3[2], 1], np.int64)
    k = np.arange(-R, Lmax + R)
    for a in range(3):
        wrap[a] = (k % shape3[a]) * axis_stride[a]

    Wmax = max(len(W) for W in Ws)
    G = np.zeros((n_o, Wmax, Wmax))
    LT = np.zeros((n_o, Wmax, Wmax))
    Gu = np.zeros((n_o, Wmax))
    for o, k_ in enumerate(kernels):
        n = len(k_.window)
        G[o, :n, :n] = k_.G
        LT[o, :n, :n] = np.tril(k_.noise).T  # full square (zeros below): a uniform loop vectorises
        Gu[o, :n] = k_.G @ k_.u_window
    return KernelTables(
        shape3=shape3, R=R, wrap=wrap, m=int(m), n_sites=lat.n_sites, n_clusters=model.n_clusters,
        nW=np.array([len(W) for W in Ws], np.int64), nV=np.array([len(v) for v in Voffs], np.int64),
        Voff=_padded(Voffs), cV=np.stack(cVs), G=G, Gu=Gu, LT=LT,
        n_seg=np.array([len(sg) for sg in segs], np.int64), seg=_padded(segs),
        ent_p=np.concatenate(ent_ps), ent_k=np.concatenate(ent_ks), kpad=kpad,
        n_aff=np.array([len(a) for a in aff_os], np.int64), aff_o=_padded(aff_os), aff_off=_padded(aff_offs),
        aff_sv=_padded(aff_svs), kvals=stencil.values.copy(),
        stencil=stencil, cluster_offsets=np.stack(corient),
        om=om, inv_m=1.0 / om.astype(float),
        a0d=np.array([model.bare_of(o).A0 / model.bare_of(o).d for o in range(n_o)]),
        gamma0=np.array([model.bare_of(o).gamma0 for o in range(n_o)]),
        delta0=np.array([model.bare_of(o).delta0 for o in range(n_o)]),
    )
