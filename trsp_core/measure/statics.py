"""Statics of the descriptor: <S>(T), its distribution and C_S(r).

Error bars of time averages come from blocks of consecutive frames (frames
are correlated in time; a block mean includes all spatial correlations).
"""
from __future__ import annotations

import warnings

import attrs
import numpy as np
from scipy import stats

from trsp_core.measure.data import TemperatureData
from trsp_core.measure.diagnostics import Diagnostics, MeasureError
from trsp_core.measure.options import MeasureOptions
from trsp_core.measure.radial import pairs_within, radial_edges


def blocks_of(segment: np.ndarray, n_blocks: int) -> list[np.ndarray]:
    """Index blocks for error bars: the independent runs if there are >= 4, else n_blocks chunks in time."""
    seg = np.asarray(segment)
    ids = np.unique(seg)
    if ids.size >= 4:
        return [np.nonzero(seg == i)[0] for i in ids]
    return np.array_split(np.arange(seg.size), min(n_blocks, seg.size))


def block_error(values: np.ndarray, blocks: list[np.ndarray]) -> float:
    """Standard error of the mean of a time series from block means."""
    v = np.asarray(values, float)
    if len(blocks) < 2:
        return float("nan")
    means = np.array([v[b].mean() for b in blocks])
    return float(means.std(ddof=1) / np.sqrt(len(blocks)))


@attrs.frozen(eq=False)
class Distribution:
    temperature: float
    mean: float
    mean_err: float
    variance: float
    variance_err: float
    skewness: float
    skewness_err: float
    excess_kurtosis: float
    excess_kurtosis_err: float
    hist_edges: np.ndarray
    hist_density: np.ndarray


def distribution(data: TemperatureData, options: MeasureOptions, diag: Diagnostics) -> Distribution:
    S = data.descriptor[data.valid]
    flat = S.ravel()
    frame_means = S.mean(axis=1)
    m = float(flat.mean())
    blocks = blocks_of(data.segment[data.valid], options.n_blocks)
    per_block = [S[b].ravel() for b in blocks]
    var_b = np.array([b.var() for b in per_block])
    sk_b = np.array([stats.skew(b) for b in per_block])
    ku_b = np.array([stats.kurtosis(b) for b in per_block])
    nb = len(per_block)
    se = lambda x: float(x.std(ddof=1) / np.sqrt(nb)) if nb > 1 else float("nan")  # noqa: E731
    sk, ku = float(stats.skew(flat)), float(stats.kurtosis(flat))
    where = f"distribution T={data.temperature:g}"
    if abs(sk) > options.max_abs_skew or abs(ku) > options.max_abs_excess_kurtosis:
        diag.warn(where, f"the descriptor is not Gaussian (skewness {sk:.2f}, excess kurtosis {ku:.2f}; "
                  f"limits {options.max_abs_skew}, {options.max_abs_excess_kurtosis}): the Gaussian model "
                  "(and the renormalisation) assume it is")
    h, e = np.histogram(flat, bins=60, density=True)
    return Distribution(data.temperature, m, block_error(frame_means, blocks), float(flat.var()),
                        se(var_b), sk, se(sk_b), ku, se(ku_b), e, h)


@attrs.frozen(eq=False)
class Correlation:
    """C_S(r) of one temperature: r = 0 is the variance."""

    temperature: float
    r: np.ndarray        # (K,) mean pair distance per bin, r[0] = 0
    value: np.ndarray    # (K,)
    error: np.ndarray    # (K,)
    n_pairs: np.ndarray  # (K,) pairs per frame


def correlation(data: TemperatureData, options: MeasureOptions, mean: float, edges: np.ndarray | None = None) -> Correlation:
    """C(r) = <(S_i - <S>)(S_j - <S>)> over pairs in r bins, on evenly spaced frames."""
    frames = np.nonzero(data.valid)[0]
    frames = frames[np.unique(np.linspace(0, frames.size - 1, min(options.corr_frames, frames.size)).astype(int))]
    r_max = min(options.r_max, 0.5 * float(np.min(data.box)))
    pairs = dist = None
    per_frame, r_sum, counts = [], None, None
    for f in frames:
        if pairs is None or not data.static:
            pairs, dist = pairs_within(data.frame_positions(f), data.box, r_max)
            if edges is None:
                edges = radial_edges(dist, r_max, options.r_bin_width, data.static)
            k = np.searchsorted(edges, dist, "right") - 1
            ok = (k >= 0) & (k < len(edges) - 1)
        nb = len(edges) - 1
        x = data.descriptor[f] - mean
        prod = x[pairs[ok, 0]] * x[pairs[ok, 1]]
        c = np.bincount(k[ok], minlength=nb).astype(float)
        row = np.bincount(k[ok], weights=prod, minlength=nb)
        rs = np.bincount(k[ok], weights=dist[ok], minlength=nb)
        counts = c if counts is None else counts + c
        r_sum = rs if r_sum is None else r_sum + rs
        with np.errstate(invalid="ignore"):
            per_frame.append(np.concatenate([[np.mean(x * x)], row / c]))
    per_frame = np.array(per_frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # empty r bins give NaN, dropped below
        value = np.nanmean(per_frame, axis=0)
    blk = blocks_of(data.segment[frames], options.n_blocks)
    nblk = len(blk)
    if nblk < 2:
        raise MeasureError(f"data '{data.source}': C(r) needs >= 2 valid frames for error bars")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        blocks = np.array([np.nanmean(per_frame[b], axis=0) for b in blk])
    error = blocks.std(axis=0, ddof=1) / np.sqrt(nblk)
    with np.errstate(invalid="ignore"):
        r = np.concatenate([[0.0], r_sum / counts])
    keep = np.concatenate([[True], counts > 0])
    return Correlation(data.temperature, r[keep], value[keep], error[keep],
                       np.concatenate([[data.n_particles], counts / len(frames)])[keep])


def pooled_correlation(corrs: list[Correlation]) -> Correlation:
    """Inverse-variance mean over temperatures (C(r) is taken T-independent, as in the paper)."""
    common = corrs[0].r
    for c in corrs[1:]:
        if c.r.shape != common.shape or not np.allclose(c.r, common, atol=0.05):
            # Different bins (different boxes): fall back to the first temperature's.
            return corrs[0]
    V = np.array([c.value for c in corrs])
    W = 1.0 / np.array([np.maximum(c.error, 1e-12) for c in corrs]) ** 2
    val = (V * W).sum(0) / W.sum(0)
    err = 1.0 / np.sqrt(W.sum(0))
    return Correlation(float("nan"), common, val, err, np.sum([c.n_pairs for c in corrs], axis=0))
