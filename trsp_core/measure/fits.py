"""Small fitting primitives, each returning estimates *and* their covariance.

* :func:`quasi_poisson_fit` -- counts n_k with mean mu_k = E_k exp(f(theta)_k)
  (log link), variance phi mu_k (1 - mu_k/E_k). Rearrangement flags come in
  runs of ~d frames, so flagged-frame counts are over-dispersed by
  phi = E[L^2]/E[L] (L = run length); phi is passed in, not guessed.
* :func:`weighted_line` -- y = c0 + c1 x with known sigmas.
* :func:`fit_almost_exponential` -- f(0) = at_zero, f(r > 0) = A exp(-r/xi).
"""
from __future__ import annotations

from typing import Callable

import attrs
import numpy as np
from scipy import optimize, stats

from trsp_core.errors import ParameterError


@attrs.frozen(eq=False)
class FitResult:
    """Estimates, covariance and goodness of fit of one fit."""

    names: tuple[str, ...]
    value: np.ndarray
    cov: np.ndarray
    chi2: float          # Pearson chi^2 (already divided by the dispersion)
    dof: int

    @property
    def error(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.cov), 0.0, None))

    @property
    def p_value(self) -> float:
        """Probability of a chi^2 this large if the model is right (nan without dof)."""
        return float(stats.chi2.sf(self.chi2, self.dof)) if self.dof > 0 else float("nan")

    def __getitem__(self, name: str) -> float:
        return float(self.value[self.names.index(name)])

    def err(self, name: str) -> float:
        return float(self.error[self.names.index(name)])

    def as_dict(self) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.names, self.value)}


def quasi_poisson_fit(
    model: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    theta0,
    counts,
    exposure,
    names: tuple[str, ...],
    dispersion: float = 1.0,
    max_iter: int = 100,
) -> FitResult:
    """Maximum quasi-likelihood fit of P_k = exp(f_k(theta)), counts_k ~ phi Binomial(E_k, P_k).

    ``model(theta) -> (f, J)`` gives f (K,) and its Jacobian J (K, p).
    Gauss-Newton (Fisher scoring) with step halving; covariance phi (J^T W J)^-1.
    """
    n = np.asarray(counts, float)
    E = np.asarray(exposure, float)
    theta = np.asarray(theta0, float).copy()
    if n.size <= len(theta):
        raise ParameterError(f"fit of {', '.join(names)}: {n.size} data points for {len(theta)} parameters")

    def loglik(th):
        f, _ = model(th)
        P = np.exp(f)
        if np.any(P >= 1) or not np.all(np.isfinite(P)):
            return -np.inf
        # Binomial log-likelihood (constants dropped); log1p keeps P ~ 0 exact.
        return float(np.sum(n * f + (E - n) * np.log1p(-P)))

    ll = loglik(theta)
    if not np.isfinite(ll):
        raise ParameterError(f"fit of {', '.join(names)}: the starting point gives P >= 1 somewhere")
    for _ in range(max_iter):
        f, J = model(theta)
        P = np.exp(f)
        mu = E * P
        w = mu / (1.0 - P)
        grad = J.T @ ((n - mu) / (1.0 - P))
        info = (J * w[:, None]).T @ J
        step = np.linalg.lstsq(info, grad, rcond=None)[0]
        lam = 1.0
        while lam > 1e-8:
            new = theta + lam * step
            ll_new = loglik(new)
            if ll_new >= ll - 1e-12:
                break
            lam /= 2
        else:
            break
        theta, ll_old, ll = new, ll, ll_new
        if abs(ll - ll_old) < 1e-10 * (1 + abs(ll)) and np.max(np.abs(lam * step)) < 1e-9 * (1 + np.max(np.abs(theta))):
            break
    f, J = model(theta)
    P = np.exp(f)
    mu = E * P
    w = mu / (1.0 - P)
    info = (J * w[:, None]).T @ J
    try:
        cov = dispersion * np.linalg.inv(info)
    except np.linalg.LinAlgError:
        raise ParameterError(f"fit of {', '.join(names)}: parameters are not identifiable from these data") from None
    var = np.where(mu > 0, mu * (1 - P), np.inf)
    chi2 = float(np.sum((n - mu) ** 2 / np.maximum(var, 1e-300)) / dispersion)
    return FitResult(tuple(names), theta, cov, chi2, int(n.size - theta.size))


def log_linear(X: np.ndarray):
    """Model f = X theta for :func:`quasi_poisson_fit`."""
    X = np.asarray(X, float)
    return lambda th: (X @ th, X)


def weighted_line(x, y, sigma, names=("intercept", "slope")) -> FitResult:
    """Weighted least squares y = c0 + c1 x; covariance from the given sigmas."""
    x, y, s = (np.asarray(v, float) for v in (x, y, sigma))
    if x.size < 2:
        raise ParameterError(f"fit of {', '.join(names)}: need >= 2 points, got {x.size}")
    if np.any(~(s > 0)):
        raise ParameterError(f"fit of {', '.join(names)}: every sigma must be > 0")
    X = np.stack([np.ones_like(x), x], axis=1)
    W = 1.0 / s**2
    info = (X * W[:, None]).T @ X
    cov = np.linalg.inv(info)
    beta = cov @ (X.T @ (W * y))
    chi2 = float(np.sum(W * (y - X @ beta) ** 2))
    return FitResult(tuple(names), beta, cov, chi2, int(x.size - 2))


def fit_almost_exponential(r, y, sigma, *, at_zero=None, at_zero_sigma=None,
                           names=("at_zero", "amplitude", "length")) -> FitResult:
    """Fit f(r > 0) = A exp(-r / xi) by weighted least squares; f(0) taken from the r = 0 point.

    ``at_zero`` fixes f(0) (e.g. rho(0) = 1) with zero variance; otherwise the
    r == 0 data point is the estimate (independent of the tail fit).
    """
    r, y, s = (np.asarray(v, float) for v in (r, y, sigma))
    zero = r == 0
    if at_zero is None:
        if not zero.any():
            raise ParameterError("almost-exponential fit: no r = 0 point and at_zero not given")
        at_zero, at_zero_sigma = float(y[zero][0]), float(s[zero][0])
    at_zero_sigma = 0.0 if at_zero_sigma is None else float(at_zero_sigma)
    keep = ~zero & np.isfinite(y) & (s > 0)
    r, y, s = r[keep], y[keep], s[keep]
    if r.size < 2:
        raise ParameterError(f"almost-exponential fit ({names[1]}, {names[2]}): need >= 2 points at r > 0, got {r.size}")
    pos = y > 0
    if pos.sum() >= 2:
        lin = np.polyfit(r[pos], np.log(y[pos]), 1, w=y[pos] / s[pos])
        p0 = [float(np.exp(lin[1])), float(-1.0 / lin[0]) if lin[0] < 0 else float(np.ptp(r) or 1.0)]
    else:
        p0 = [float(np.max(np.abs(y))), 1.0]
    model = lambda rr, A, xi: A * np.exp(-rr / xi)  # noqa: E731
    try:
        popt, pcov = optimize.curve_fit(model, r, y, p0=p0, sigma=s, absolute_sigma=True,
                                        bounds=([-np.inf, 1e-6], [np.inf, np.inf]), maxfev=20000)
    except (RuntimeError, ValueError) as exc:
        raise ParameterError(f"almost-exponential fit ({names[1]}, {names[2]}) did not converge: {exc}") from None
    chi2 = float(np.sum(((y - model(r, *popt)) / s) ** 2))
    cov = np.zeros((3, 3))
    cov[0, 0] = at_zero_sigma**2
    cov[1:, 1:] = pcov
    return FitResult(tuple(names), np.array([at_zero, *popt]), cov, chi2, int(r.size - 2))
