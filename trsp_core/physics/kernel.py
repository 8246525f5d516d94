"""The detailed-balance constructor: what a rearrangement of cluster c does to S.

Given a rearrangement of c, S is Normal(mu', K') (the equilibrium law tilted by
the bare rate; Sherman-Morrison). The change is

    Delta S | S ~ Normal(H (mu' - S), K_Delta),  H = 1 - (1 - K_Delta K'^-1)^(1/2),

which makes (S, S + Delta S) exchangeable given R_c, i.e. detailed balance.

Two constructions are provided and tested against each other:

* :func:`dense_kernel`: N x N matrices, the ground truth for small lattices;
* :func:`window_kernel`: only the window W where K_Delta is non-zero. Because
  K_Delta vanishes off W, 1 - M (M = K_Delta K'^-1) is block triangular and
  H restricted to its non-zero rows is H_W. = G (K'^-1)_W. with the symmetric
  |W| x |W| matrix G = (1 + X)^-1 K_Delta_WW, X = (1 - M_WW)^(1/2). With
  K'^-1 = K^-1 + 2 delta0 u u^T one finds H (mu' - S) on W equals
  G [ (gamma0 - 2 delta0 sbar) u_W - Z_W ], Z = K^-1 (S - mu): the only
  non-local object is Z, which a simulator keeps up to date incrementally.
"""
from __future__ import annotations

import attrs
import numpy as np

from trsp_core.physics import gaussian
from trsp_core.physics.clusters import kick_distances
from trsp_core.errors import ParameterError

#: Eigenvalues of K_Delta K'^-1 up to 1 + this are accepted (1 = full reset).
FEASIBILITY_TOL = 1e-9


def conditioned_moments(K: np.ndarray, u: np.ndarray, mu: float, gamma0: float, delta0: float):
    """K' and mu' of S given a rearrangement of the cluster with weights u (dense)."""
    Ku = K @ u
    K_RR = float(u @ Ku)
    q = 1.0 + 2.0 * delta0 * K_RR
    if not q > 0:
        raise ParameterError(
            f"conditioning on a rearrangement diverges: 1 + 2*delta0*K_RR = {q:.4g} <= 0 "
            f"(delta0={delta0:.4g}, K_RR={K_RR:.4g})"
        )
    K_prime = K - 2.0 * delta0 * np.outer(Ku, Ku) / q
    mu_prime = mu + (gamma0 - 2.0 * delta0 * mu) * Ku / q
    return K_prime, mu_prime


def kick_std_profile(dist: np.ndarray, params, facilitation: float) -> np.ndarray:
    """sqrt(c_f) s(d_c(x)), cut to zero beyond r_cut."""
    s = params.kick_std(dist)
    s = np.where(dist <= params.r_cut, s, 0.0)
    return np.sqrt(facilitation) * s


def kick_covariance(model, orientation: int, K_prime: np.ndarray | None = None) -> np.ndarray:
    """Dense K_Delta for the cluster of this orientation anchored at site 0."""
    p = model.params
    lat = model.lattice
    offs = model.orientations[orientation]
    if p.reset:
        if K_prime is None:
            raise ValueError("reset kicks need K'")
        sites = lat.index(offs)
        Kd = np.zeros_like(K_prime)
        Kd[np.ix_(sites, sites)] = model.facilitation * K_prime[np.ix_(sites, sites)]
        return Kd
    s = kick_std_profile(kick_distances(lat, offs, model.delta_rule), p, model.facilitation)
    R = p.kick_correlation(lat.distance_matrix())
    return s[:, None] * R * s[None, :]


def _sqrt_psd(A: np.ndarray):
    w, V = np.linalg.eigh(A)
    w = np.clip(w, 0.0, None)
    return V, w


def _feasibility(b_max: float, where: str) -> None:
    if b_max > 1.0 + FEASIBILITY_TOL:
        raise ParameterError(
            f"infeasible K_Delta ({where}): largest eigenvalue of K_Delta K'^-1 is {b_max:.6g} > 1, "
            "i.e. the kick is larger than the conditioned variance; reduce s0/s1, the "
            "facilitation factor, or r_cut"
        )


def _sym_sqrt(A: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(A^(1/2), A^(-1/2)) of a symmetric positive-definite matrix."""
    lam, U = np.linalg.eigh(A)
    if lam.min() <= 0:
        raise ParameterError(f"{what} is not positive definite (smallest eigenvalue {lam.min():.4g})")
    return (U * np.sqrt(lam)) @ U.T, (U / np.sqrt(lam)) @ U.T


def _kick_spectrum(B: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition of the symmetrised K_Delta K'^-1, checked feasible and clipped to [0, 1]."""
    b, V = np.linalg.eigh((B + B.T) / 2)
    _feasibility(float(b.max()), where)
    return np.clip(b, 0.0, 1.0), V


def h_matrix(K_delta: np.ndarray, K_prime: np.ndarray) -> tuple[np.ndarray, float]:
    """H = 1 - (1 - K_Delta K'^-1)^(1/2) via the symmetric similarity transform.

    K_Delta K'^-1 = K'^(1/2) B K'^(-1/2) with B = K'^(-1/2) K_Delta K'^(-1/2) symmetric
    PSD, so the principal root is K'^(1/2) V sqrt(1 - b) V^T K'^(-1/2).
    Returns (H, largest eigenvalue b_max).
    """
    half, ihalf = _sym_sqrt(K_prime, "K'")
    b, V = _kick_spectrum(ihalf @ K_delta @ ihalf, "dense")
    H = half @ ((V * (1.0 - np.sqrt(1.0 - b))) @ V.T) @ ihalf
    return H, float(b.max())


@attrs.frozen(eq=False)
class DenseKernel:
    """Everything a dense simulator needs for one orientation, cluster at site 0."""

    sites: np.ndarray       # (m,) sites of the cluster
    u: np.ndarray           # (N,) weights 1/m on the cluster
    K_prime: np.ndarray     # (N, N)
    mu_prime: np.ndarray    # (N,)
    K_delta: np.ndarray     # (N, N)
    H: np.ndarray           # (N, N)
    noise: np.ndarray       # (N, N) with noise @ noise.T = K_delta
    b_max: float


def dense_kernel(model, orientation: int) -> DenseKernel:
    lat = model.lattice
    N = lat.n_sites
    sites = lat.index(model.orientations[orientation])
    u = np.zeros(N)
    u[sites] = 1.0 / len(sites)
    K = gaussian.dense(lat, model.params.correlation)
    bare = model.bare_of(orientation)
    K_prime, mu_prime = conditioned_moments(K, u, model.mu, bare.gamma0, bare.delta0)
    K_delta = kick_covariance(model, orientation, K_prime)
    H, b_max = h_matrix(K_delta, K_prime)
    V, w = _sqrt_psd(K_delta)
    return DenseKernel(sites=sites, u=u, K_prime=K_prime, mu_prime=mu_prime, K_delta=K_delta,
                       H=H, noise=V * np.sqrt(w), b_max=b_max)


@attrs.frozen(eq=False)
class WindowKernel:
    """The local form of one orientation's kernel (cluster anchored at site 0).

    ``window`` are the site indices of W, ``window_offsets`` their minimum-image
    integer offsets from the anchor (shift these to place the cluster anywhere).
    """

    window: np.ndarray          # (|W|,) site indices at the origin
    window_offsets: np.ndarray  # (|W|, dim)
    orientation: int
    u_window: np.ndarray        # (|W|,) 1/m on cluster sites, 0 elsewhere
    G: np.ndarray               # (|W|, |W|) symmetric: Delta S_W mean = G y_W
    noise: np.ndarray           # (|W|, |W|) lower Cholesky factor of K_Delta_WW
    K_delta: np.ndarray         # (|W|, |W|)
    mu_prime: np.ndarray        # (|W|,)
    b_max: float

    def h_rows(self, model) -> np.ndarray:
        """Exact rows of H on W, all columns (|W| x N): for checks, not for simulation."""
        kinv = model.kinv_stencil
        lat = model.lattice
        coords = lat.coords()
        rel = lat.index(coords[self.window][:, None, :] - coords[None, :, :])
        P = kinv[rel]
        u = np.zeros(lat.n_sites)
        u[self.window[self.u_window > 0]] = self.u_window[self.u_window > 0]
        P = P + 2.0 * model.bare_of(self.orientation).delta0 * np.outer(self.u_window, u)
        return self.G @ P


def window_kernel(model, orientation: int) -> WindowKernel:
    """Build the local kernel from FFT columns of K^-1; never forms an N x N matrix."""
    p = model.params
    lat = model.lattice
    offs = model.orientations[orientation]
    sites = lat.index(offs)
    coords = lat.coords()
    bare = model.bare_of(orientation)
    kinv = model.kinv_stencil
    Kstencil = p.correlation(lat.stencil_distances()).reshape(-1)

    def block(stencil_flat, rows, cols):
        return stencil_flat[lat.index(coords[rows][:, None, :] - coords[cols][None, :, :])]

    if p.reset:
        window = np.asarray(sites)
    else:
        dist = kick_distances(lat, offs, model.delta_rule)
        window = np.flatnonzero(dist <= p.r_cut)
        if window.size == 0:
            raise ParameterError(f"r_cut={p.r_cut} leaves no site inside the kick window")
    m = len(sites)
    u_w = np.where(np.isin(window, sites), 1.0 / m, 0.0)

    # K' on the window and the cluster (Sherman-Morrison, from the stencil of K).
    K_WW = block(Kstencil, window, window)
    Ku_W = block(Kstencil, window, sites).mean(axis=1)
    K_RR = float(block(Kstencil, sites, sites).mean())
    q = 1.0 + 2.0 * bare.delta0 * K_RR
    if not q > 0:
        raise ParameterError(f"1 + 2*delta0*K_RR = {q:.4g} <= 0 (delta0={bare.delta0:.4g}, K_RR={K_RR:.4g})")
    Kp_WW = K_WW - 2.0 * bare.delta0 * np.outer(Ku_W, Ku_W) / q
    mu_prime = model.mu + (bare.gamma0 - 2.0 * bare.delta0 * model.mu) * Ku_W / q

    if p.reset:
        K_delta = model.facilitation * Kp_WW
    else:
        s = kick_std_profile(dist[window], p, model.facilitation)
        R = block(p.kick_correlation(lat.stencil_distances()).reshape(-1), window, window)
        K_delta = s[:, None] * R * s[None, :]

    # P = (K'^-1)_WW; G = P^(-1/2) V diag(1 - sqrt(1-b)) V^T P^(-1/2), B = P^(1/2) K_Delta P^(1/2).
    P = block(kinv, window, window) + 2.0 * bare.delta0 * np.outer(u_w, u_w)
    Phalf, Pihalf = _sym_sqrt(P, "(K'^-1) on the window")
    b, V = _kick_spectrum(Phalf @ K_delta @ Phalf, f"window of orientation {orientation}")
    G = Pihalf @ ((V * (1.0 - np.sqrt(1.0 - b))) @ V.T) @ Pihalf
    G = (G + G.T) / 2
    Vk, wk = _sqrt_psd(K_delta)
    try:
        L = np.linalg.cholesky(K_delta + 1e-14 * np.eye(len(window)) * max(K_delta.diagonal().max(), 1e-300))
    except np.linalg.LinAlgError:
        L = Vk * np.sqrt(wk)  # semi-definite K_Delta: a symmetric square root serves
    return WindowKernel(window=window, window_offsets=lat.wrap(coords[window]), orientation=int(orientation), u_window=u_w, G=G,
                        noise=L, K_delta=K_delta, mu_prime=mu_prime, b_max=float(b.max()))
