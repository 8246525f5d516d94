"""Weighted mixtures of cluster rules: parsing, per-channel renormalisation, tables, event logs.

The physics of a mixture (kernel identities, per-channel Monte-Carlo renormalisation,
stationarity, per-channel detailed balance, fast == reference) is tested by the
parametrised tests in test_kernel.py, test_renormalisation.py and tests/backends/.
"""
import sys

import numpy as np
import pytest

from trsp_core.errors import ParameterError, PluginError
from trsp_core.physics import mixture
from trsp_core.physics.rates import observed_from_bare
from trsp_core.spec import compose

MIX = "single:0.3+plaquette:0.7"


def test_parse():
    assert mixture.parse("plaquette") is None
    assert mixture.parse(" single:0.25 + plaquette:0.75 ") == [("single", 0.25), ("plaquette", 0.75)]


@pytest.mark.parametrize("text,needle", [
    ("single:0.3+plaquette:0.6", "add up to 1, they add up to 0.9"),
    ("single:-0.3+plaquette:1.3", "weight of 'single' must be > 0"),
    ("single:0+plaquette:1", "weight of 'single' must be > 0"),
    ("single:nan+plaquette:1", "weight of 'single' must be > 0"),
    ("single:x+plaquette:0.7", "weight of 'single' must be a number"),
    ("single+plaquette:0.7", "each channel is name:weight"),
    ("single:0.5+single:0.5", "listed twice"),
    (":0.5+plaquette:0.5", "each channel is name:weight"),
])
def test_parse_errors_name_the_channel_and_the_condition(text, needle):
    with pytest.raises(ParameterError, match="cluster mixture") as info:
        mixture.parse(text)
    assert needle in str(info.value)


def test_unknown_channel_rule_is_an_error():
    with pytest.raises(PluginError, match="unknown cluster plugin 'plaq'"):
        compose(size=6, cluster="single:0.3+plaq:0.7")


def test_one_channel_of_weight_one_is_the_plain_rule():
    a, b = compose(size=6, cluster="plaquette:1"), compose(size=6, cluster="plaquette")
    assert not a.is_mixture
    assert a.bare == b.bare and np.array_equal(a.cluster_sites, b.cluster_sites)


def test_channels_split_the_observed_law():
    """Each channel's bare law maps back (MODEL section 3) onto w_c A exp(gamma S - delta S^2);
    the channels add up to the descriptor's law, which a pure rule reproduces alone."""
    m = compose(size=6, cluster=MIX, temperature=0.5)
    assert m.is_mixture and [ch.name for ch in m.channels] == ["single", "plaquette"]
    total_A = 0.0
    for ch in m.channels:
        back = observed_from_bare(ch.bare, m.mu, ch.geometry)
        assert back.gamma == pytest.approx(m.observed.gamma, rel=1e-12)
        assert back.delta == pytest.approx(m.observed.delta, rel=1e-12)
        assert back.A == pytest.approx(ch.weight * m.observed.A, rel=1e-12)
        total_A += back.A
    assert total_A == pytest.approx(m.observed.A, rel=1e-12)
    # the plaquette channel's bare law is the pure plaquette's with A0 scaled by its weight
    pure = compose(size=6, cluster="plaquette", temperature=0.5).bare
    plaq = m.channels[1].bare
    assert plaq.A0 == pytest.approx(0.7 * pure.A0, rel=1e-12)
    assert (plaq.gamma0, plaq.delta0) == pytest.approx((pure.gamma0, pure.delta0), rel=1e-12)


def test_a_mixture_has_no_single_bare_law():
    m = compose(size=6, cluster=MIX)
    with pytest.raises(ParameterError, match="mixture of 2 cluster rules.*bare_of"):
        m.bare
    assert m.bare_of(0) is m.channels[0].bare
    assert m.bare_of(len(m.orientations) - 1) is m.channels[1].bare


def test_cluster_table_pads_smaller_clusters_with_their_first_site():
    m = compose(size=6, cluster=MIX)
    N = m.n_sites
    assert m.cluster_sites.shape == ((1 + 3) * N, 4)
    single = m.cluster_sites[:N]
    assert np.array_equal(single, np.repeat(np.arange(N)[:, None], 4, axis=1))
    assert np.array_equal(m.cluster_m, np.r_[np.ones(N), np.full(3 * N, 4)])
    assert m.z == 1 + 12
    assert list(m.orientation_channel) == [0, 1, 1, 1]
    # the rate of a padded cluster is its own site's, not an average over repeats
    S = m.sample_equilibrium(np.random.default_rng(1))
    np.testing.assert_allclose(m.cluster_rates(S)[:N], m.channels[0].bare.rate(S))


def test_channel_renormalisation_failure_names_the_channel():
    # e2 < 0 far below T0 makes delta0 < 0: the first channel's bare law is not normalisable
    with pytest.raises(ParameterError, match=r"channel 'single' \(weight 0.3\) of the cluster mixture: bare rate"):
        compose(size=6, temperature=0.4, cluster=MIX, params={"e2": -5.0})


@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_event_log_pads_with_nan_and_records_the_channel(backend):
    m = compose(size=5, cluster=MIX, temperature=0.6)
    ds = m.run(seeds=1, duration=40.0, backend=backend)
    ch = ds["event_channel"].values
    assert set(np.unique(ch)) == {0, 1}
    assert np.array_equal(ch, m.orientation_channel[ds["event_cluster"].values // m.n_sites])
    before = ds["event_s_before"].values
    assert np.isnan(before[ch == 0, 1:]).all() and np.isfinite(before[ch == 0, 0]).all()
    assert np.isfinite(before[ch == 1]).all()
    assert ds.attrs["cluster_channels"] == "single,plaquette"
    # S_before of every event is the state the run was in: the first event's cluster holds S_initial
    c0 = int(ds["event_cluster"].values[0])
    members = m.cluster_sites[c0, : m.cluster_m[c0]]
    np.testing.assert_array_equal(before[0, : m.cluster_m[c0]], ds["S_initial"].values[0, members])


def test_cli_mixture_error_is_one_line(capsys, monkeypatch):
    from trsp_core.cli import main

    monkeypatch.setattr(sys, "argv", ["trsp", "compose", "--size", "4", "--cluster", "single:0.5+plaquette:0.6"])
    with pytest.raises(SystemExit) as info:
        main()
    out, err = capsys.readouterr()
    assert info.value.code != 0
    assert "Traceback" not in err and err.count("\n") == 1
    assert "weights are fractions of the observed per-site rate and must add up to 1" in err


def test_sweep_plan_records_every_channels_cluster_size(tmp_path):
    from trsp_core.campaigns.spec import normalise_variant
    from trsp_core.campaigns.sweep import plan_runs

    v = normalise_variant({"size": 4, "cluster": MIX})
    _, points = plan_runs([v, {**v, "cluster": "plaquette"}], [0.5], 1, 0, tmp_path, "reference", 10.0, 5.0, 100.0)
    assert [(p["m"], p["channel_m"]) for p in points] == [(4, "single:1+plaquette:4"), (4, "plaquette:4")]
