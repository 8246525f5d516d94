"""Fast kernel: reproducibility, checkpoint/resume, RNG, sum tree and the local kick algebra."""
import numpy as np
import pytest

from trsp_core.spec import compose
from trsp_core.errors import ParameterError
from trsp_core.backends.fast import _kernels, _rng, _sumtree, driver, exact_z, kernel_tables
from trsp_core.backends.simulate import simulate

LOG = ("times", "clusters", "s_before", "s_after")


def _same_log(a, b):
    for k in LOG:
        x, y = getattr(a, k), getattr(b, k)
        assert x.shape == y.shape and np.array_equal(x, y), k
    assert np.array_equal(a.s_final, b.s_final)


@pytest.fixture(scope="module")
def model():
    return compose(size=6, temperature=0.7)


def test_same_seed_same_event_log(model):
    a = simulate(model, 150.0, 7, backend="fast")
    b = simulate(model, 150.0, 7, backend="fast")
    c = simulate(model, 150.0, 8, backend="fast")
    assert a.n_events > 100
    _same_log(a, b)
    assert np.array_equal(a.occupancy, b.occupancy) and np.array_equal(a.s_time_integral, b.s_time_integral)
    assert not np.array_equal(a.clusters[:20], c.clusters[:20])


def test_chunk_boundaries_do_not_change_the_trajectory(model, monkeypatch):
    a = simulate(model, 150.0, 3, backend="fast")
    monkeypatch.setattr(driver, "MAX_CHUNK", 7)
    b = simulate(model, 150.0, 3, backend="fast")
    _same_log(a, b)


def test_interrupted_and_resumed_run_is_bit_identical(model, tmp_path):
    full = simulate(model, 150.0, 5, backend="fast")
    ck = tmp_path / "run.npz"
    part = simulate(model, 150.0, 5, backend="fast", checkpoint=ck, max_events=int(full.n_events * 0.4))
    assert part.info["stopped_by_max_events"] and part.n_events == int(full.n_events * 0.4)
    assert ck.exists()
    resumed = simulate(model, 150.0, 5, backend="fast", checkpoint=ck)
    assert resumed.info["resumed_at_event"] == part.n_events
    _same_log(full, resumed)
    np.testing.assert_array_equal(full.snapshots, resumed.snapshots)
    np.testing.assert_allclose(full.occupancy, resumed.occupancy, rtol=1e-12)
    np.testing.assert_allclose(full.s_time_integral, resumed.s_time_integral, rtol=1e-12, atol=1e-12)
    assert resumed.t_end == full.t_end


def test_periodic_checkpoints_resume_identically(model, tmp_path, monkeypatch):
    """Checkpoint after every chunk (tiny chunks), resume from a mid-run file."""
    full = simulate(model, 120.0, 11, backend="fast")
    monkeypatch.setattr(driver, "MAX_CHUNK", 25)
    ck = tmp_path / "p.npz"
    simulate(model, 120.0, 11, backend="fast", checkpoint=ck, checkpoint_every=1e-9, max_events=60)
    resumed = simulate(model, 120.0, 11, backend="fast", checkpoint=ck, checkpoint_every=1e-9)
    _same_log(full, resumed)


def test_checkpoint_of_another_run_is_refused(model, tmp_path):
    ck = tmp_path / "c.npz"
    simulate(model, 50.0, 1, backend="fast", checkpoint=ck, max_events=10)
    with pytest.raises(ParameterError, match="another run"):
        simulate(model, 50.0, 2, backend="fast", checkpoint=ck)
    other = compose(size=6, temperature=0.6)
    with pytest.raises(ParameterError, match="different model"):
        simulate(other, 50.0, 1, backend="fast", checkpoint=ck)


def test_option_errors_name_the_parameter(model):
    with pytest.raises(ParameterError, match="tolerance"):
        simulate(model, 10.0, 1, backend="fast", tolerance=2.0)
    with pytest.raises(ParameterError, match="max_events"):
        simulate(model, 10.0, 1, backend="fast", max_events=-1)


def _xoshiro_py(s, n):
    M = (1 << 64) - 1
    rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M  # noqa: E731
    s = [int(x) for x in s]
    out = []
    for _ in range(n):
        out.append(rotl((s[1] * 5) & M, 7) * 9 & M)
        t = (s[1] << 17) & M
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45)  # noqa: E702
    return out


def test_rng_is_xoshiro256starstar_and_resumable():
    s = _rng.seed_state(42)
    expect = _xoshiro_py(s, 50)
    got = [int(_rng.next_u64(s)) for _ in range(50)]
    assert got == expect
    a = _rng.seed_state(1)
    u = _rng.uniforms(a, 200_000)
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / u.size)
    z = _rng.normals(a, 200_000)
    assert abs(z.mean()) < 5 / np.sqrt(z.size) and abs(z.var() - 1) < 5 * np.sqrt(2 / z.size)


def test_sum_tree_selects_by_cumulative_rate():
    rng = np.random.default_rng(0)
    rates = rng.random(37)
    tree, P = _sumtree.new_tree(37)
    tree[P:P + 37] = rates
    _sumtree.rebuild(tree, P)
    cum = np.cumsum(rates)
    for r in rng.random(500) * cum[-1]:
        assert _sumtree.select(tree, P, 37, r) == int(np.searchsorted(cum, r, "right"))
    # Partial refresh reproduces a full rebuild bit for bit.
    tree2 = tree.copy()
    changed = np.array([3, 4, 5, 20, 36])
    for t_ in (tree, tree2):
        t_[P + changed] = 0.5
    nodes = (P + changed).astype(np.int64)
    _sumtree.refresh_ancestors(tree, nodes, len(nodes))
    _sumtree.rebuild(tree2, P)
    assert np.array_equal(tree, tree2)


@pytest.mark.parametrize("cluster,rule", [("plaquette", "nearest"), ("single", "center-of-mass")])
def test_fast_mean_kick_equals_dense_H(cluster, rule):
    """The kernel's own index arithmetic + G + exact Z reproduce H (mu' - S) of the dense constructor."""
    m = compose(size=6, cluster=cluster, delta_rule=rule, temperature=0.6, facilitation=0.6)
    T = kernel_tables(m)
    S = m.sample_equilibrium(np.random.default_rng(1))
    Z = exact_z(m, S)
    lat = m.lattice
    coords = lat.coords()
    for c in (0, 37, m.n_clusters - 1):
        g, mean = _kernels.window_mean_kick(S, Z, c, m.n_sites, T.shape3, T.R, T.wrap, T.nW, T.Voff, T.cV, T.G,
                                            T.Gu, T.om, T.inv_m, T.gamma0, T.delta0)
        k = m.dense_kernel(m.cluster_orientation[c])
        perm = lat.index(coords + coords[c % m.n_sites])
        dense = k.H @ (k.mu_prime - S[perm])
        full = np.zeros(m.n_sites)
        full[perm] = dense
        scale = np.abs(dense).max()
        np.testing.assert_allclose(mean, full[g], atol=1e-10 * scale)
        outside = np.setdiff1d(np.arange(m.n_sites), g)
        assert np.abs(full[outside]).max() <= 1e-10 * scale  # H has no rows outside W


def test_truncated_H_rows_within_stated_tolerance():
    """Rows of H the truncated stencil implies vs the exact rows, bounded by the reported truncation error."""
    m = compose(size=8, temperature=0.6)
    T = kernel_tables(m, tolerance=1e-4)
    assert 0 < T.stencil.rel_error < 1e-3 and len(T.kvals) < m.n_sites
    k = m.window_kernel(0)
    exact = k.h_rows(m)
    lat = m.lattice
    kinv_trunc = np.zeros(m.n_sites)
    kinv_trunc[lat.index(T.stencil.offsets[:, 3 - lat.dim:])] = T.stencil.values
    coords = lat.coords()
    P = kinv_trunc[lat.index(coords[k.window][:, None, :] - coords[None, :, :])]
    u = np.zeros(m.n_sites)
    u[k.window[k.u_window > 0]] = k.u_window[k.u_window > 0]
    approx = k.G @ (P + 2 * m.bare.delta0 * np.outer(k.u_window, u))
    # |H_trunc - H|_max <= ||G||_inf * max_x sum_{y dropped} |K^-1_xy| = ||G||_inf * rel_error * sum|K^-1|
    bound = np.abs(k.G).sum(1).max() * T.stencil.rel_error * np.abs(m.kinv_stencil).sum()
    err = np.abs(approx - exact).max()
    assert err <= bound
    assert err < 1e-3 * np.abs(exact).max()


def test_exact_and_truncated_modes_agree(tmp_path):
    """Same seed: truncated Z differs from exact by ~1e-4, so the first events coincide and S stays close."""
    m = compose(size=8, temperature=0.7)
    a = simulate(m, 40.0, 2, backend="fast", exact=True)
    b = simulate(m, 40.0, 2, backend="fast", tolerance=1e-4, refresh_every=64)
    assert a.info["stencil_size"] == m.n_sites and b.info["stencil_size"] < m.n_sites
    assert a.info["z_max_drift_rel"] < 1e-10
    n = 30
    assert a.n_events > n
    assert np.array_equal(a.clusters[:n], b.clusters[:n])
    np.testing.assert_allclose(a.s_after[:n], b.s_after[:n], atol=1e-3)
    # The Z drift between exact refreshes stays within a few times the dropped K^-1 weight.
    assert b.info["n_refresh"] >= 2 and 0 < b.info["z_max_drift_rel"] < 50 * b.info["truncation_rel_error"]


def test_leaf_order_round_trip_and_select_maps_back():
    """Spatial leaf order: leaf_of / cluster_of are inverse bijections on [0, Nc)."""
    N, n_o = 216, 3
    c = np.arange(N * n_o)
    leaf = _sumtree.leaf_of(c, N, n_o)
    assert np.array_equal(np.sort(leaf), c)
    assert np.array_equal(_sumtree.cluster_of(leaf, N, n_o), c)


@pytest.mark.parametrize("edges", [np.linspace(-3, 3, 49), np.sort(np.random.default_rng(2).normal(size=20)),
                                   np.array([-np.inf, -1.0, 0.0, 1.0, np.inf]), np.array([0.0, 0.0, 1.0, 1.0, 2.0])])
def test_bin_of_matches_searchsorted(edges):
    xs = np.concatenate([np.random.default_rng(3).normal(size=2000) * 3, edges[np.isfinite(edges)],
                         [np.nan, np.inf, -np.inf]])
    ref = np.searchsorted(edges, xs, "right") - 1
    ref[(ref < 0) | (ref >= len(edges) - 1) | np.isnan(xs)] = -1
    assert np.array_equal([_kernels.bin_of(x, edges) for x in xs], ref)


def test_segment_terms_reproduce_the_stencil_convolution():
    """Segments x terms of the tables = K^-1 stencil convolved with the window (the Z update's algebra)."""
    from trsp_core.backends.fast._simd import SEG

    m = compose(size=10, temperature=0.6)
    T = kernel_tables(m)
    rng = np.random.default_rng(4)
    for o in range(T.n_orientations):
        nw = T.nW[o]
        W = T.Voff[o, :nw]
        d = rng.normal(size=nw)
        expect = {}
        for k in range(nw):
            for off, v in zip(T.stencil.offsets, T.stencil.values):
                key = tuple(int(x) for x in W[k] + off)
                expect[key] = expect.get(key, 0.0) + v * d[k]
        got = {}
        kflat = T.kpad.ravel()
        for sx, sy, z0, ln, e0, e1 in T.seg[o, :T.n_seg[o]]:
            acc = np.zeros(SEG)
            for e in range(e0, e1):
                acc += kflat[T.ent_p[e]:T.ent_p[e] + SEG] * d[T.ent_k[e]]
            assert np.all(acc[ln:] == 0)
            for q in range(ln):
                got[(int(sx), int(sy), int(z0 + q))] = acc[q]
        assert set(got) == set(expect)
        np.testing.assert_allclose([got[k] for k in expect], list(expect.values()), atol=1e-13)


def test_fexp_within_two_ulp():
    """The kernel's branch-free exp (cluster rates) agrees with libm to 2 ulp on |x| < 700."""
    from numba import njit

    from trsp_core.backends.fast._simd import fexp

    @njit
    def many(x):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = fexp(x[i])
        return out

    x = np.concatenate([np.linspace(-700, 700, 100_001), np.random.default_rng(5).normal(size=50_000) * 4])
    rel = np.abs(many(x) - np.exp(x)) / np.exp(x)
    assert rel.max() <= 2.5e-16
    assert many(np.array([-1e4]))[0] > 0 and np.isfinite(many(np.array([1e4]))[0])
