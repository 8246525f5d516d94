"""Observed <-> bare rate laws: algebraic round trip and a Monte-Carlo check."""
import numpy as np
import pytest

from trsp_core.spec import compose
from profile_forms import FORMS
from trsp_core.physics.rates import BareRate, ObservedRate, bare_from_observed, observed_from_bare


LATTICE_RULES = [("cubic", "single"), ("cubic", "bond"), ("cubic", "plaquette"), ("fcc", "tetrahedron"),
                 ("fcc", "bond"), ("bcc", "bond"), ("triangular", "triangle"), ("triangular", "bond")]


@pytest.mark.parametrize("lattice,cluster", LATTICE_RULES)
@pytest.mark.parametrize("T", [0.42, 0.55, 0.7])
def test_round_trip(lattice, cluster, T):
    m = compose(size=6, lattice=lattice, cluster=cluster, temperature=T)
    back = observed_from_bare(m.bare, m.mu, m.geometry)
    for name in ("A", "gamma", "delta", "d"):
        assert getattr(back, name) == pytest.approx(getattr(m.observed, name), rel=1e-12, abs=1e-14)
    bare2 = bare_from_observed(back, m.mu, m.geometry)
    assert bare2.A0 == pytest.approx(m.bare.A0, rel=1e-12)
    assert bare2.gamma0 == pytest.approx(m.bare.gamma0, rel=1e-12)


def test_single_site_bare_equals_observed():
    m = compose(size=6, cluster="single", temperature=0.5)
    assert m.bare.A0 == pytest.approx(m.observed.A)
    assert m.bare.gamma0 == pytest.approx(m.observed.gamma)
    assert m.bare.delta0 == pytest.approx(m.observed.delta)


@pytest.mark.parametrize("lattice,cluster,T,size,params", [(*case, None) for case in [("cubic", "plaquette", 0.5, 8), ("cubic", "bond", 0.45, 8),
                                                    ("fcc", "tetrahedron", 0.5, 7), ("triangular", "triangle", 0.5, 20),
                                                    ("bcc", "bond", 0.5, 7),
                                                    ("cubic", "single:0.3+plaquette:0.7", 0.5, 8),
                                                    ("triangular", "single:0.4+triangle:0.6", 0.5, 20)]]
                         # functional forms (issue 14)
                         + [("cubic", "plaquette", 0.5, 8, FORMS[f]) for f in ("tabulated-coarse", "damped-oscillation",
                                                                                "xi-of-T", "per-temperature")])
def test_monte_carlo_observed_rate(lattice, cluster, T, size, params):
    """Sum of the bare rates of the z clusters holding site i, averaged given S_i,
    equals the observed law. Tested bin by bin with errors from independent fields;
    a mixture per channel (against its share w_c of the law) and in total."""
    m = compose(size=size, lattice=lattice, cluster=cluster, temperature=T, params=params)
    rng = np.random.default_rng(12345)
    n_fields = 300
    edges = np.linspace(m.mu - 2.0, m.mu + 2.0, 9)
    parts = [(ch, ch.weight) for ch in m.channels] + ([(None, 1.0)] if m.is_mixture else [])
    sums = np.zeros((len(parts), n_fields, len(edges) - 1))
    counts = np.zeros_like(sums)
    N = m.n_sites
    for f in range(n_fields):
        S = m.sample_equilibrium(rng)
        per_channel = []
        for ch in m.channels:
            sites = m.cluster_sites[ch.orientations[0] * N: (ch.orientations[-1] + 1) * N, : ch.m]
            p0 = ch.bare.rate(S[sites].mean(axis=1)) * ch.bare.d   # per-frame probability
            total = np.zeros(N)
            for k in range(ch.m):
                np.add.at(total, sites[:, k], p0)
            per_channel.append(total)
        idx = np.digitize(S, edges) - 1
        ok = (idx >= 0) & (idx < len(edges) - 1)
        for j, (ch, w) in enumerate(parts):
            total = per_channel[j] if ch is not None else sum(per_channel)
            # paired difference removes the within-bin slope of the target law
            diff = total / (w * m.observed.probability(S)) - 1.0
            sums[j, f] = np.bincount(idx[ok], diff[ok], minlength=len(edges) - 1)
            counts[j, f] = np.bincount(idx[ok], minlength=len(edges) - 1)
    # Ratio estimator over independent fields (sites within a field are correlated;
    # no per-field selection, which would condition on the neighbours).
    for j in range(len(parts)):
        mean = sums[j].sum(0) / counts[j].sum(0)
        resid = sums[j] - mean * counts[j]
        sem = np.sqrt(n_fields / (n_fields - 1) * (resid**2).sum(0)) / counts[j].sum(0)
        if np.all(np.abs(mean) < 1e-12):
            continue  # a single-site channel: its bare law is its share of the observed law, exactly
        z = mean / sem
        # 8 bins: |z| < 4 for all is a ~5e-4 false-alarm rate; the chi^2 guards the sum.
        assert np.all(np.abs(z) < 4.0), (j, z)
        assert np.sum(z**2) < 26.1, j  # chi^2_8 at p = 0.001


def test_monte_carlo_detects_wrong_renormalisation():
    """The same estimator flags a bare law that was not renormalised (the test has power)."""
    m = compose(size=8, cluster="plaquette", temperature=0.5)
    wrong = BareRate(A0=m.observed.A / m.z, gamma0=m.observed.gamma, delta0=m.observed.delta, d=m.bare.d)
    rng = np.random.default_rng(1)
    ratios = []
    for _ in range(50):
        S = m.sample_equilibrium(rng)
        p0 = wrong.rate(S[m.cluster_sites].mean(axis=1)) * wrong.d
        total = np.zeros(m.n_sites)
        for k in range(4):
            np.add.at(total, m.cluster_sites[:, k], p0)
        ratios.append(np.mean(total / m.observed.probability(S)) - 1)
    ratios = np.asarray(ratios)
    assert abs(ratios.mean()) / (ratios.std(ddof=1) / np.sqrt(len(ratios))) > 10


def test_inverse_rejects_impossible_observed_law():
    m = compose(size=6, cluster="plaquette", temperature=0.5)
    g = m.geometry
    bad = ObservedRate(A=0.1, gamma=0.3, delta=g.kappa**2 / (2 * g.v) * 1.01, d=4.0)
    with pytest.raises(Exception, match="kappa\\^2 - 2 delta v > 0"):
        bare_from_observed(bad, m.mu, g)
