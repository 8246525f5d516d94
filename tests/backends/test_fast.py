"""The fast backend is statistically equivalent to the dense reference simulator.

Each configuration runs a handful of short trajectories with both backends
from the same fixed seeds, hence the same equilibrium initial states, and
compares per-seed observables with paired t-tests on the differences: the
shared initial condition cancels from the difference (the global mean of S of
a 6^3 lattice fluctuates a lot), while the pairs stay independent across seeds. The threshold is a Bonferroni-
corrected p-value, so a correct kernel fails a configuration with probability
< ALPHA; the error bars come from the spread over seeds, never from a guess.
A power check runs the same statistic on a deliberately different model and
requires it to fail.
"""
import numpy as np
import pytest
from scipy import stats

from profile_forms import FORMS
from trsp_core.spec import compose
from trsp_core.physics.timescales import mean_rate_time
from trsp_core.observables.overlap import overlap_samples
from trsp_core.backends.simulate import simulate

ALPHA = 1e-3
N_SEEDS = 10
SHIFTS = ([0, 0, 0], [1, 0, 0], [1, 1, 0])

# (cluster, delta rule, T, facilitation, duration in mean per-site rearrangement times
# d/<P(R|S)>, so the statistics do not depend on the rate law's time scale):
# both rules, m = 1 and 4, c = 1 and 0.2.
CONFIGS = [
    ("plaquette", "nearest", 0.55, 1.0, 6.4),
    ("plaquette", "center-of-mass", 0.7, 0.2, 12.4),
    ("single", "nearest", 0.6, 0.2, 2.8),
    ("single", "center-of-mass", 0.5, 1.0, 1.6),
    # a weighted mixture: one bare law and kernel per channel
    ("single:0.3+plaquette:0.7", "nearest", 0.55, 1.0, 6.4),
]


def _model(cluster, rule, T, f, size=6, lattice="cubic", form=None):
    return compose(descriptor="softness-kalj", lattice=lattice, size=size, cluster=cluster,
                       delta_rule=rule, temperature=T, facilitation=f, params=FORMS[form] if form else None)


def _runs(model, duration, backend, seeds):
    return [simulate(model, duration, s, backend=backend, n_snapshots=12) for s in seeds]


def observables(model, runs, lags, edges):
    """dict name -> (n_runs, k) per-seed values."""
    lat = model.lattice
    N = model.n_sites
    out = {}
    out["mean_S"] = np.array([[r.s_time_integral.sum() / (N * r.t_end)] for r in runs])
    perms = [lat.translation(np.array(s[:lat.dim])) for s in SHIFTS]
    out["C(r)"] = np.array([[np.mean((r.snapshots - model.mu) * (r.snapshots[:, p] - model.mu)) for p in perms]
                            for r in runs])
    out["rate"] = np.array([[r.n_events / r.t_end] for r in runs])
    if model.is_mixture:  # events per channel
        out["channel rate"] = np.array([np.bincount(model.orientation_channel[r.clusters // N],
                                                    minlength=len(model.channels)) / r.t_end for r in runs])
    Q = overlap_samples(runs, model.cluster_sites, N, lags, n_origins=24)
    out["Q(t)"] = Q.mean(axis=1)
    nb = len(edges) - 1
    trans = []
    for r in runs:
        real = np.isfinite(r.s_before.ravel())  # NaN pads a mixture's smaller clusters
        a = np.clip(np.digitize(r.s_before.ravel()[real], edges) - 1, 0, nb - 1)
        b = np.clip(np.digitize(r.s_after.ravel()[real], edges) - 1, 0, nb - 1)
        trans.append(np.bincount(a * nb + b, minlength=nb * nb) / r.t_end)
    out["transitions"] = np.array(trans)
    return out


def compare(obs_a, obs_b, min_mean=None, paired=True):
    """t-tests per component (paired by seed); returns (worst p, number of tests, report of the worst)."""
    tests = []
    for name in obs_a:
        a, b = obs_a[name], obs_b[name]
        for k in range(a.shape[1]):
            if name == "transitions" and min(a[:, k].mean(), b[:, k].mean()) * 1.0 < (min_mean or 0.0):
                continue  # too few counts per seed for a normal approximation
            if a[:, k].std() == 0 and b[:, k].std() == 0:
                continue
            if paired:
                t, p = stats.ttest_rel(a[:, k], b[:, k])
            else:
                t, p = stats.ttest_ind(a[:, k], b[:, k], equal_var=False)
            tests.append((p, f"{name}[{k}]: {a[:, k].mean():.4g} vs {b[:, k].mean():.4g} (t={t:.2f})"))
    tests.sort()
    return tests[0][0], len(tests), tests[0][1]


def _setup(cluster, rule, T, f, n_mean_times, lattice="cubic", size=6, form=None):
    model = _model(cluster, rule, T, f, size=size, lattice=lattice, form=form)
    duration = n_mean_times * mean_rate_time(model)
    lags = np.array([0.05, 0.15, 0.3]) * duration
    sd = np.sqrt(model.params.C0)
    edges = model.mu + sd * np.array([-np.inf, -1.0, 0.0, 1.0, np.inf])
    return model, duration, lags, edges


# The skewed lattices with their own rules (6^3 = 216 sites; triangular 12^2 = 144):
# (cluster, rule, T, c, duration, lattice, L).
BRAVAIS = [
    ("tetrahedron", "nearest", 0.55, 1.0, 6.4, "fcc", 6),
    ("bond", "center-of-mass", 0.6, 0.6, 6.4, "bcc", 6),
    ("triangle", "nearest", 0.55, 1.0, 6.4, "triangular", 12),
]


# Functional forms (issue 14): (cluster, rule, T, c, duration, lattice, L, form in tests/profile_forms.py).
FORM_CONFIGS = [
    ("plaquette", "nearest", 0.55, 1.0, 6.4, "cubic", 6, "tabulated-coarse"),
    ("plaquette", "center-of-mass", 0.6, 1.0, 6.4, "cubic", 6, "damped-oscillation"),
    ("plaquette", "nearest", 0.5, 1.0, 6.4, "cubic", 6, "xi-of-T"),
]


def _id(c):
    return (f"{c[5]}-" if len(c) > 5 else "") + f"{c[0]}-{c[1]}-T{c[2]}-c{c[3]}" + (f"-{c[7]}" if len(c) > 7 else "")


@pytest.mark.parametrize("cfg", CONFIGS + BRAVAIS + FORM_CONFIGS, ids=_id)
def test_fast_matches_reference(cfg):
    model, duration, lags, edges = _setup(*cfg)
    ref = observables(model, _runs(model, duration, "reference", range(N_SEEDS)), lags, edges)
    fast_runs = _runs(model, duration, "fast", range(N_SEEDS))
    assert all(r.backend == "fast" for r in fast_runs)
    fast = observables(model, fast_runs, lags, edges)
    # Transition bins need ~ 5 counts per seed: rate * duration >= 5.
    p, n, worst = compare(fast, ref, min_mean=5.0 / duration)
    assert n >= 10, n
    assert p > ALPHA / n, f"worst of {n} tests p={p:.2e}: {worst}"


def test_comparison_detects_a_different_model():
    """Power: the same statistic flags fast runs of a model with a 5x weaker kick (c = 0.2 vs 1)."""
    cfg = ("single", "nearest", 0.6, 1.0, 2.8)
    model, duration, lags, edges = _setup(*cfg)
    weak = _model("single", "nearest", 0.6, 0.2)
    a = observables(model, _runs(model, duration, "fast", range(N_SEEDS)), lags, edges)
    b = observables(model, _runs(weak, duration, "fast", range(N_SEEDS)), lags, edges)
    p, n, worst = compare(a, b, min_mean=5.0 / duration)
    assert p < ALPHA / n, f"a 5x weaker kick went unnoticed (worst p={p:.2e}: {worst})"


@pytest.mark.slow
@pytest.mark.parametrize("cfg", [
    ("plaquette", "nearest", 0.5, 0.2, 4.4),
    ("plaquette", "center-of-mass", 0.55, 1.0, 6.4),
    ("single", "nearest", 0.7, 1.0, 8.2),
    ("single", "center-of-mass", 0.55, 0.2, 3.2),
], ids=lambda c: f"L8-{c[0]}-{c[1]}-T{c[2]}-c{c[3]}")
def test_fast_matches_reference_L8(cfg):
    cluster, rule, T, f, n_mean_times = cfg
    model = _model(cluster, rule, T, f, size=8)
    duration = n_mean_times * mean_rate_time(model)
    lags = np.array([0.05, 0.15, 0.3]) * duration
    edges = model.mu + np.array([-np.inf, -1.0, 0.0, 1.0, np.inf])
    ref = observables(model, _runs(model, duration, "reference", range(16)), lags, edges)
    fast = observables(model, _runs(model, duration, "fast", range(16)), lags, edges)
    p, n, worst = compare(fast, ref, min_mean=5.0 / duration)
    assert p > ALPHA / n, f"worst of {n} tests p={p:.2e}: {worst}"
