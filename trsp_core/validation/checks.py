"""Statistical checks of observables against the model's targets.

Every check reduces to one statistic and one threshold derived from error
bars (see docs/validation.md):

* seed-level scalar checks: per-seed estimates, one-sample Student t
  (n_seeds - 1 dof), threshold = two-sided quantile at level ALPHA;
* seed-level profile checks (C(r), P(R|S), detailed balance): per-seed
  deviation vectors, chi-square-like statistic sum_k (sum_s x)^2 / sum_s x^2,
  threshold = its (1 - ALPHA) quantile over sign flips of whole seeds (exact
  randomisation test, correlations between components included);
* kick-instrument checks: iid samples, the same with normal quantiles;
* identity checks: relative difference of two estimators that must agree to
  rounding, threshold 1e-9.
"""
from __future__ import annotations

import attrs
import numpy as np

from trsp_core.observables.stats import ALPHA, FlipResult, TestResult, seed_t_test, sign_flip_test, z_test

#: Minimum mean count per seed for a bin or bin pair to enter a count-based test
#: (below it the per-seed estimate is too skewed for a t test).
MIN_COUNT_PER_SEED = 20
IDENTITY_TOL = 1e-9


@attrs.frozen
class Check:
    name: str
    passed: bool
    statistic: float
    threshold: float
    description: str
    details: dict = attrs.field(factory=dict)
    #: what the (dimensionless) statistic is: "chi2", "max |t|", "max |z|", "rel. diff."
    statistic_kind: str = "statistic"

    def as_json(self) -> dict:
        return {"name": self.name, "passed": bool(self.passed), "statistic": float(self.statistic),
                "threshold": float(self.threshold), "statistic_kind": self.statistic_kind}


def _from_test(name: str, res: TestResult | FlipResult, description: str, **details) -> Check:
    worst = int(np.argmax(np.abs(res.t))) if len(res.t) else -1
    details = dict(details, components=len(res.t), worst_component=worst, max_abs_t=float(np.max(np.abs(res.t))),
                   dof=res.dof, alpha=ALPHA)
    if isinstance(res, FlipResult):
        details["p_value"] = res.p_value
        kind = "chi2"                       # sum of squared per-component t over seeds
    else:
        kind = "max |t|" if res.dof > 0 else "max |z|"     # z_test has no dof (normal quantiles)
    return Check(name, res.passed, res.statistic, res.threshold, description, details, kind)


def mean_s(stat) -> Check:
    res = seed_t_test(stat["S_mean_run"].values, float(stat["S_mean_target"]))
    return _from_test("mean-S", res, "time-weighted <S> equals mu(T) (Student t over seeds)",
                      measured=float(stat["S_mean"]), target=float(stat["S_mean_target"]))


def correlation(stat) -> Check:
    res = sign_flip_test(stat["C_run"].values, stat["C_target"].values)
    return _from_test("correlation-C(r)", res, "snapshot C_S(r) equals the target C(r) in every shell (sign-flip chi-square)",
                      worst_r=float(stat["r_shell"].values[int(np.argmax(np.abs(res.t)))]))


def rate_law(rl, d: float) -> Check:
    counts, occ = rl["rate_counts"].values, rl["rate_occupancy"].values
    rate_t = rl["P_R_target"].values / d
    expected = rate_t * occ
    keep = expected.mean(axis=0) >= MIN_COUNT_PER_SEED
    if keep.sum() < 2:
        return Check("rate-law", False, np.inf, 0.0, "too few S bins with enough rearrangements to test P(R|S)",
                     statistic_kind="chi2")
    # Linear in the counts (no ratio bias): (N_b - r_b occ_b) / <r_b occ_b>_seeds has mean 0.
    x = (counts[:, keep] - expected[:, keep]) / expected[:, keep].mean(axis=0)
    res = sign_flip_test(x)
    return _from_test("rate-law", res, "observed per-site P(R|S) equals A exp(gamma S - delta S^2) per S bin (sign-flip chi-square)",
                      bins_tested=int(keep.sum()))


def mean_rate(runs, model, target_rate: float) -> Check:
    # every site of a firing cluster rearranges (cluster_m: a mixture's clusters differ in size)
    per_seed = np.asarray([model.cluster_m[r.clusters].sum() / (model.n_sites * r.t_end) for r in runs]) / target_rate - 1.0
    res = seed_t_test(per_seed)
    return _from_test("mean-rate", res, "rearrangements per site per frame equal <P(R|S)>/d at equilibrium (Student t)",
                      measured=float(np.mean(per_seed) + 1.0) * target_rate, target=target_rate)


def detailed_balance(db) -> Check:
    fwd, rev = db["db_forward"].values, db["db_reverse"].values
    scale = (fwd + rev).mean(axis=0)
    keep = scale >= MIN_COUNT_PER_SEED
    if keep.sum() < 1:
        return Check("detailed-balance", False, np.inf, 0.0, "no bin pair with enough transitions",
                     statistic_kind="chi2")
    res = sign_flip_test((fwd[:, keep] - rev[:, keep]) / scale[keep])
    return _from_test("detailed-balance", res,
                      "N(A->B) = N(B->A) for every pair of S bins of rearranging sites (sign-flip chi-square symmetry)",
                      pairs_tested=int(keep.sum()))


def kick_exchangeability(sc) -> Check:
    active = sc["dS_var"].values > 0
    mean = np.concatenate([sc["dS_mean"].values[active], sc["dS_exchange"].values[active]])
    se = np.concatenate([sc["dS_mean_err"].values[active], sc["dS_exchange_err"].values[active]])
    res = z_test(mean, se)
    return _from_test("kick-exchangeability", res,
                      "<Delta S> = 0 and <S_after^2 - S_before^2> = 0 at every distance (detailed balance; max |z|)")


def kick_variance(sc) -> Check:
    ok = sc["dS_target_var"].values > 0
    res = z_test(sc["dS_cond_ratio"].values[ok] - 1.0, sc["dS_cond_ratio_err"].values[ok])
    return _from_test("kick-variance", res, "Var(Delta S | S) equals the target c_f s(r)^2 at every distance (max |z|)")


def fourpoint_identities(chi4_at_tau: float, s4, block) -> Check:
    """S4(q=0) and block chi4 at L_B = L are chi4(tau_alpha) by definition: code-path consistency."""
    s4_0 = float(s4["S4"].values[int(np.argmin(s4["q_shell"].values))])
    b_full = float(block["chi4_block"].values[-1])
    rel = max(abs(s4_0 - chi4_at_tau), abs(b_full - chi4_at_tau)) / max(abs(chi4_at_tau), 1e-300)
    return Check("fourpoint-identities", rel <= IDENTITY_TOL, rel, IDENTITY_TOL,
                 "S4(q=0, tau_alpha) and block chi4(L_B=L) equal chi4(tau_alpha) (relative difference)",
                 {"chi4_tau": chi4_at_tau, "S4_q0": s4_0, "chi4_block_L": b_full}, "rel. diff.")
