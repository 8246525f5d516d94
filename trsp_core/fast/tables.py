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
* U: the support of K^-1 Delta S, W (+) stencil, kept as a dense local box
  (scatter target) and as runs along the last axis (contiguous flush to Z).
"""
from __future__ import annotations

import attrs
import numpy as np

from trsp_core.errors import ParameterError

#: Lengths of stencil chunks along the last axis (must match the explicit vector widths in _kernels).
CHUNK_WIDTHS = (8, 4, 1)
CHUNK = CHUNK_WIDTHS[0]


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


def _runs(sorted_offsets: np.ndarray):
    """Split lexicographically sorted offsets into runs of consecutive last-axis values: (start, length)."""
    starts, lengths = [], []
    for i, off in enumerate(sorted_offsets):
        if lengths and (off[:2] == sorted_offsets[i - 1][:2]).all() and off[2] == sorted_offsets[i - 1][2] + 1:
            lengths[-1] += 1
        else:
            starts.append(i)
            lengths.append(1)
    return np.asarray(starts, np.int64), np.asarray(lengths, np.int64)


def _chunks(stencil: StencilInfo, bstride: np.ndarray):
    """Cover each last-axis row of the stencil with chunks whose lengths are in CHUNK_WIDTHS.

    Each chunk is one explicit vector axpy in the kernel (``_simd``), so the
    cost is the number of chunks, not of cells: a row of n cells takes an
    8-chunk while n >= 5 cells are left (zero-padded: adding 0 * d leaves a
    cell bit-identical), then a 4-chunk for 2..4 cells, then single cells.
    The default stencil (rows of 1, 3, 5, 7, 9 cells) needs 66 chunks.
    Chunks are sorted by width; ``bounds[i]:bounds[i+1]`` have width CHUNK_WIDTHS[i].
    """
    rows = {}
    for off, v in zip(stencil.offsets, stencil.values):
        rows.setdefault((int(off[0]), int(off[1])), {})[int(off[2])] = float(v)
    by_width = {w: [] for w in CHUNK_WIDTHS}
    for (x, y), zs in rows.items():
        z, z_end = min(zs), max(zs) + 1
        while z < z_end:
            left = z_end - z
            w = 8 if left >= 5 else (4 if left >= 2 else 1)
            vals = [zs.get(z + q, 0.0) for q in range(w)] + [0.0] * (CHUNK - w)
            by_width[w].append((int(np.dot([x, y, z], bstride)), vals))
            z += w
    rel, vals, bounds = [], [], [0]
    for w in CHUNK_WIDTHS:
        rel += [r for r, _ in by_width[w]]
        vals += [v for _, v in by_width[w]]
        bounds.append(len(rel))
    return np.asarray(rel, np.int64), np.asarray(vals, float).reshape(-1, CHUNK), np.asarray(bounds, np.int64)


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
    Wbox: np.ndarray        # (n_o, Wmax) linear index of each window site in the local box
    n_urun: np.ndarray      # (n_o,)
    urun: np.ndarray        # (n_o, Umax, 5): dx, dy, z0, length, box start
    n_aff: np.ndarray       # (n_o,)
    aff_o: np.ndarray       # (n_o, Amax) orientation of each affected cluster
    aff_off: np.ndarray     # (n_o, Amax, 3) its anchor offset
    aff_sv: np.ndarray      # (n_o, Amax, m) positions in V of its sites (cluster order)
    # stencil of K^-1 in the local box, as chunks along the last axis (see _chunks)
    schunk: np.ndarray      # (n_chunks,) relative box index of each chunk's first cell
    kchunk: np.ndarray      # (n_chunks, CHUNK) K^-1 values (0 in padding)
    cbounds: np.ndarray     # (len(CHUNK_WIDTHS)+1,) chunk index ranges per width
    kvals: np.ndarray       # (n_s,) the kept values, for reporting
    box_size: int
    stencil: StencilInfo
    cluster_offsets: np.ndarray  # (n_o, m, 3)

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

    corient = [wrap3(_pad3(o)) for o in model.orientations]
    kernels = [model.window_kernel(o) for o in range(n_o)]
    Ws = [_pad3(k.window_offsets) for k in kernels]

    # Local box covering W (+) stencil for every orientation.
    lo = np.min([w.min(0) for w in Ws], axis=0) + stencil.offsets.min(0)
    hi = np.max([w.max(0) for w in Ws], axis=0) + stencil.offsets.max(0)
    hi = hi + np.array([0, 0, CHUNK])  # room for the zero padding of the last chunk of a row
    bdim = hi - lo + 1
    bstride = np.array([bdim[1] * bdim[2], bdim[2], 1], np.int64)

    Voffs, cVs, Wboxes, uruns, aff_os, aff_offs, aff_svs = [], [], [], [], [], [], []
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
        # Box cells touched by the stencil scatter, flushed as runs along the last axis.
        wbox = (W - lo) @ bstride
        cells = np.unique((wbox[:, None] + stencil.offsets @ bstride).reshape(-1))  # only these get non-zero adds
        coff = np.stack(np.unravel_index(cells, bdim), -1) + lo
        starts, lengths = _runs(coff)
        urun = np.column_stack([coff[starts, 0], coff[starts, 1], coff[starts, 2], lengths, cells[starts]])
        Voffs.append(V)
        cVs.append(cV)
        Wboxes.append(wbox)
        uruns.append(urun)
        aff_os.append(aff_o)
        aff_offs.append(aff_off)
        aff_svs.append(aff_sv)

    schunk, kchunk, cbounds = _chunks(stencil, bstride)
    R = int(max(np.abs(np.concatenate(Voffs)).max(), np.abs(np.concatenate(aff_offs)).max(),
                np.abs(lo).max(), np.abs(hi).max())) + 1
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
        Voff=_padded(Voffs), cV=np.stack(cVs), G=G, Gu=Gu, LT=LT, Wbox=_padded(Wboxes),
        n_urun=np.array([len(u) for u in uruns], np.int64), urun=_padded(uruns),
        n_aff=np.array([len(a) for a in aff_os], np.int64), aff_o=_padded(aff_os), aff_off=_padded(aff_offs),
        aff_sv=_padded(aff_svs), schunk=schunk, kchunk=kchunk, cbounds=cbounds, kvals=stencil.values.copy(), box_size=int(np.prod(bdim)),
        stencil=stencil, cluster_offsets=np.stack(corient),
    )
