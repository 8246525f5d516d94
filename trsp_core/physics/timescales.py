"""Time scales of a composed model, in closed form or by quadrature (no simulation).

They size runs automatically: the mean waiting time between a site's
rearrangements, and the frozen-field estimate of tau_alpha.
"""
from __future__ import annotations

import math

import numpy as np


def mean_rate_time(model) -> float:
    """d / <P(R|S)> at equilibrium: the mean waiting time between a site's rearrangements.

    Closed form of E[A exp(gamma S - delta S^2)] for S ~ Normal(mu, sigma^2);
    used to size runs automatically (tau_alpha is a few times this).
    """
    o = model.observed
    v = model.params.C0
    mu = model.mu
    D = 1 + 2 * o.delta * v
    lnE = math.log(o.A) - 0.5 * math.log(D) + (o.gamma * mu - o.delta * mu * mu + o.gamma**2 * v / 2) / D
    return o.d / math.exp(lnE)


def auto_duration(model, factor: float = 30.0, cap: float = 1e6) -> float:
    return float(min(factor * mean_rate_time(model), cap))


def frozen_tau(model) -> float:
    """Relaxation-time estimate (frames) from the frozen-field persistence function.

    Q0(t) = E_S[exp(-P(R|S) t / d)] with S ~ Normal(mu, C0) and the observed per-site
    rate law: the overlap if every site kept its softness. tau0 solves Q0(tau0) = 1/e.
    It brackets the measured tau_alpha within a factor ~2 over 0.42 <= T <= 0.7 for
    the default parameters (facilitation and cluster overlaps move it both ways),
    which is all a run-length rule needs.
    """
    o = model.observed
    x, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    S = model.mu + math.sqrt(model.params.C0) * x
    k = o.A * np.exp(o.gamma * S - o.delta * S * S) / o.d
    lo, hi = math.log(1e-6 / k.max()), math.log(1e3 / k.min())
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if np.dot(w, np.exp(-k * math.exp(mid))) > math.exp(-1):
            lo = mid
        else:
            hi = mid
    return float(math.exp(0.5 * (lo + hi)))


def auto_run_length(model, tau_factor: float = 20.0, cap: float = 2e5) -> float:
    """Run length: ``tau_factor`` x tau estimate (the larger of the frozen-field tau and the
    mean rearrangement time), capped at ``cap`` frames. Lags go up to half the run, so the
    chi4 peak (at ~tau_alpha) lies well inside the lag window and there are ~10 tau_alpha
    of independent time origins."""
    tau = max(frozen_tau(model), mean_rate_time(model))
    return float(min(tau_factor * tau, cap))
