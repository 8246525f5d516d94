"""Inputs and diagnostics of ``trsp measure``: missing fields, non-Gaussian descriptors,
too few rearrangements, non-Arrhenius rates, the p_hop route from positions, and the
command line end to end (subprocess)."""
import attrs
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from trsp_core.md import mdio
from trsp_core.measure import MeasureOptions, TemperatureData, load
from trsp_core.measure import rate_law as rl
from trsp_core.measure import statics as st
from trsp_core.measure.diagnostics import Diagnostics, MeasureError
from trsp_core.measure.events import find_runs

TRSP = [sys.executable, "-c", "from trsp_core.cli import main; main()"]


def _lattice(n, a=1.1):
    g = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 3)
    return a * g.astype(float), np.full(3, a * n)


def _traj(F=20, n=3, columns=None, temperature=0.5):
    pos, box = _lattice(n)
    return mdio.Trajectory(positions=np.broadcast_to(pos, (F,) + pos.shape).copy(), types=np.zeros(len(pos)),
                           box=box, columns=columns or {}, temperature=temperature)


# ------------------------------------------------------------------ missing fields
def test_missing_descriptor_names_file_and_field(tmp_path):
    F, N = 20, 27
    path = mdio.write_netcdf(_traj(F, columns={"phop": np.zeros((F, N))}), tmp_path / "nodesc.nc")
    with pytest.raises(MeasureError, match=r"nodesc\.nc.*missing field 'descriptor'"):
        load(path, MeasureOptions())


def test_missing_phop_and_too_few_frames_for_it_names_file_and_field(tmp_path):
    F, N = 8, 27   # no phop column, and fewer frames than the p_hop window + 1
    path = mdio.write_netcdf(_traj(F, columns={"descriptor": np.zeros((F, N))}), tmp_path / "nophop.nc")
    with pytest.raises(MeasureError, match=r"nophop\.nc.*no field 'phop'.*p_hop window"):
        load(path, MeasureOptions(phop_window=10))


def test_missing_temperature_names_file_and_field(tmp_path):
    F, N = 20, 27
    cols = {"descriptor": np.zeros((F, N)), "phop": np.zeros((F, N))}
    path = mdio.write_netcdf(_traj(F, columns=cols, temperature=float("nan")), tmp_path / "noT.nc")
    with pytest.raises(MeasureError, match=r"noT\.nc.*'temperature'"):
        load(path, MeasureOptions())
    # ... and an explicit temperature repairs it.
    assert load(path, MeasureOptions(), temperature=0.5).temperature == 0.5


# ------------------------------------------------------------------ Gaussianity
def _data_with_descriptor(S, T=0.5):
    F, N = S.shape
    pos, box = _lattice(round(N ** (1 / 3)))
    return TemperatureData(temperature=T, positions=pos, box=box, descriptor=S, rearranging=np.zeros((F, N), bool))


def test_non_gaussian_descriptor_warns_and_gaussian_does_not():
    rng = np.random.default_rng(21)
    shape = (200, 216)
    skewed = _data_with_descriptor(rng.exponential(1.0, shape))      # skewness 2, excess kurtosis 6
    diag = Diagnostics()
    d = st.distribution(skewed, MeasureOptions(), diag)
    assert d.skewness == pytest.approx(2.0, abs=6 * d.skewness_err + 0.05)
    text = " ".join(str(w) for w in diag.warnings)
    assert "not Gaussian" in text and "skewness 2." in text, text
    diag = Diagnostics()
    d = st.distribution(_data_with_descriptor(rng.normal(0.3, 1.0, shape)), MeasureOptions(), diag)
    assert abs(d.skewness) < 6 * d.skewness_err + 0.02
    assert not diag.warnings, diag.warnings


# ------------------------------------------------------------------ too few rearrangements
def _flags_data(n_runs, T=0.5, F=300, N=216, seed=0):
    rng = np.random.default_rng(seed)
    flags = np.zeros((F, N), bool)
    for i, f in zip(rng.integers(0, N, n_runs), rng.integers(5, F - 10, n_runs)):
        flags[f:f + 4, i] = True
    pos, box = _lattice(6)
    return TemperatureData(temperature=T, positions=pos, box=box, descriptor=rng.normal(0, 1, (F, N)),
                           rearranging=flags, source=f"sparse T={T}")


def test_temperature_with_too_few_rearrangements_is_an_error():
    d = _flags_data(12)
    edges = rl.common_edges([d], 0.25)
    assert find_runs(d.rearranging).n <= 12
    with pytest.raises(MeasureError, match=r"sparse T=0\.5.*rearrangements, fewer than min_rearrangements=50"):
        rl.rate_table(d, edges, MeasureOptions())
    # The same data pass with a lower threshold, so it is the count that failed.
    rl.rate_table(d, edges, MeasureOptions(min_rearrangements=5))


def test_sparse_s_bins_are_reported():
    d = _flags_data(400, seed=1)
    o = MeasureOptions(min_count=10)
    t = rl.rate_table(d, rl.common_edges([d], 0.25), o)
    diag = Diagnostics()
    rl.fit_quadratic(t, o, diag)
    notes = [str(f) for f in diag.findings if "fewer than 10 rearranging samples" in f.message]
    assert notes, diag.findings
    n_sparse = int(np.sum(t.counts[t.used(o)] < 10))
    assert n_sparse > 0 and f"{n_sparse} of" in notes[0]


# ------------------------------------------------------------------ non-Arrhenius rates
def _vft_tables(rng, temps, lnP_of):
    edges = np.arange(-2.5, 2.51, 0.25)
    s = 0.5 * (edges[1:] + edges[:-1])
    out = []
    for T in temps:
        E = 4e4
        n = rng.binomial(int(E), np.exp(lnP_of(s, T))).astype(float)
        out.append(rl.RateTable(T, edges, np.full(s.size, E), n, s, 4.0, 0.01, 1.0, int(n.sum())))
    return out


@pytest.mark.parametrize("arrhenius", [True, False])
def test_vft_rates_are_flagged_non_arrhenius(arrhenius):
    """ln P = Sigma0 - e0/(T - T_VFT) + e1 S (1/T0 - 1/T) is curved in 1/T; plain Arrhenius (T_VFT = 0) is not flagged."""
    # The per-bin test runs on ~20 bins at p < 1e-3: the control has a ~2% family-wise
    # false-positive rate, and the seed is fixed (seed 31 happens to hit it; 32 does not).
    rng = np.random.default_rng(32)
    Sigma0, e0, T_vft = (2.5, 3.0, 0.0) if arrhenius else (0.5, 1.5, 0.2)
    lnP = lambda s, T: Sigma0 - e0 / (T - T_vft) - s * (1 / 0.74 - 1 / T)  # noqa: E731
    tabs = _vft_tables(rng, [0.42, 0.47, 0.53, 0.6, 0.7], lnP)
    o, diag = MeasureOptions(), Diagnostics()
    per_t = [rl.fit_quadratic(t, o, diag) for t in tabs]
    rl.arrhenius_per_bin(tabs, o, diag)
    rl.fit_onset(tabs, per_t, o, diag)
    text = " ".join(str(w) for w in diag.warnings)
    if arrhenius:
        assert "non-Arrhenius" not in text, text
    else:
        assert "non-Arrhenius" in text, text
        assert "onset fit" in text, text


# ------------------------------------------------------------------ command line
def _run(args, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([*TRSP, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def _write_model_run(path, T, seed, L=6, frames=400):
    """A plaquette TRSP run as the netCDF layout: static lattice positions, S, p_hop = flag (0 or 1)."""
    from trsp_core.spec import compose
    from trsp_core.measure.synthetic import lattice_data

    m = compose(descriptor="softness-kalj", size=L, cluster="plaquette", temperature=T)
    d = lattice_data(m, frames, seed=seed, backend="reference")  # faster than "auto" at L = 6
    traj = mdio.Trajectory(positions=np.broadcast_to(d.positions, (frames,) + d.positions.shape).copy(),
                           types=np.zeros(d.n_particles), box=d.box, temperature=T,
                           columns={"descriptor": d.descriptor, "phop": d.rearranging.astype(float)})
    return mdio.write_netcdf(traj, path)


def test_cli_measure_then_compose(tmp_path):
    import xarray as xr

    # Four independent runs per temperature (merged by the CLI): with a single run the
    # time-block error bars of C(r) are too small in the tail, the almost-exponential fit
    # follows the tail (C1 ~ 3-4, xi ~ 0.5) and the result is not positive definite on
    # small lattices -- see docs/measure.md.
    files = [str(_write_model_run(tmp_path / f"T{T}_{r}.nc", T, seed=40 + 10 * i + r, frames=200))
             for i, T in enumerate((0.42, 0.5, 0.6)) for r in range(4)]
    out = tmp_path / "out"
    p = _run(["measure", *files, "--out", str(out)], tmp_path)
    assert p.returncode == 0, p.stderr
    for name in ("params.toml", "measure.nc", "report.md", "fig1_rates.png", "fig2_statics.png", "fig3_kicks.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 500, name
    assert f"params: {out / 'params.toml'}" in p.stdout
    assert "[time]\nframe_dt = 1.0" in (out / "params.toml").read_text()   # the files' dt
    with xr.open_dataset(out / "measure.nc") as ds:
        assert ds.sizes["temperature"] == 3
        for name, v in ds.data_vars.items():
            assert "units" in v.attrs and "long_name" in v.attrs, name
        assert "fit_T0" in ds.attrs and "fit_T0_err" in ds.attrs
    report = (out / "report.md").read_text()
    assert "## Warnings" in report and "| T0 |" in report and "![fig1](fig1_rates.png)" in report
    # Every warning printed on stderr is also in the report.
    for line in p.stderr.splitlines():
        if line.startswith("trsp: warning: [warning] "):
            where = line.split("] ", 1)[1].split(":", 1)[0]
            assert f"**{where}**" in report, line
    c = _run(["compose", "--descriptor", "gaussian", "--params", str(out / "params.toml"), "--size", "5",
              "--seeds", "1", "--duration", "100", "--backend", "reference", "--json",
              "--out", str(tmp_path / "compose.nc")], tmp_path)
    assert c.returncode == 0, c.stderr
    summary = json.loads(c.stdout)
    assert summary, c.stdout
    assert (tmp_path / "compose.nc").is_file()


def test_cli_bad_dataset_exits_non_zero_with_the_diagnosis(tmp_path):
    """One short run per temperature: the C(r) fit follows its noisy tail (see the test above)
    and is not positive definite on small lattices. measure must say so -- which fit, which
    quantity, which T, what to do -- exit non-zero and write no params.toml."""
    files = [str(_write_model_run(tmp_path / f"T{T}.nc", T, seed=40 + 10 * i, frames=200))
             for i, T in enumerate((0.42, 0.5, 0.6))]
    out = tmp_path / "out"
    (out).mkdir()
    (out / "params.toml").write_text("stale = 1\n")
    p = _run(["measure", *files, "--out", str(out)], tmp_path)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    errors = [line for line in p.stderr.splitlines() if line.startswith("trsp: error: measured parameters invalid: ")]
    assert errors, p.stderr
    assert any(e.split("invalid: ")[1].startswith(("C(r) at T=", "kick at T=", "rho(r) at T=")) for e in errors)
    assert all("remedy: " in e for e in errors)
    assert not (out / "params.toml").exists()
    assert "do not compose a valid model" in (out / "report.md").read_text()
    # the remedy works: C(r) fixed to a positive-definite form
    q = _run(["measure", *files, "--out", str(out), "--fix", "C1=0.3", "--fix", "xi=1.0", "--no-figures"], tmp_path)
    assert q.returncode == 0, q.stderr
    assert "C1 = 0.3" in (out / "params.toml").read_text()


def test_cli_missing_field_is_a_clean_error(tmp_path):
    F, N = 20, 27
    path = mdio.write_netcdf(_traj(F, columns={"phop": np.zeros((F, N))}), tmp_path / "bad.nc")
    p = _run(["measure", str(path), "--out", str(tmp_path / "out")], tmp_path)
    assert p.returncode == 2
    assert "bad.nc" in p.stderr and "missing field 'descriptor'" in p.stderr and "Traceback" not in p.stderr


# ------------------------------------------------------------------ p_hop route
def _hopping_trajectory(T, gamma, lnA, seed, n=8, F=400, hop=0.8):
    """Particles on a lattice with thermal noise; each frame a particle hops by ``hop`` along x with
    probability exp(lnA + gamma S) (S constant per particle). Returns the trajectory and hop frames."""
    rng = np.random.default_rng(seed)
    pos0, box = _lattice(n)
    N = len(pos0)
    S = rng.normal(0.0, 1.0, N)
    q = np.exp(lnA + gamma * S)
    hops = rng.random((F, N)) < q
    hops[:8] = hops[-8:] = False
    shift = np.cumsum(hops, axis=0) * hop
    pos = pos0[None] + rng.normal(0, 0.02, (F, N, 3))
    pos[:, :, 0] += shift
    traj = mdio.Trajectory(positions=np.mod(pos, box), types=np.zeros(N), box=box, temperature=T,
                           columns={"descriptor": np.broadcast_to(S, (F, N)).copy()})
    return traj, hops


def test_phop_route_flags_and_rate_law(tmp_path):
    """No 'phop' in the file: p_hop is computed from positions (trsp_core.md.phop) and flags the hops."""
    o = MeasureOptions(phop_window=10, phop_threshold=0.2)
    tables, truth = [], []
    for i, (T, gamma) in enumerate(((0.45, 0.9), (0.6, 0.3))):
        traj, hops = _hopping_trajectory(T, gamma, lnA=-6.5, seed=50 + i)
        path = mdio.write_netcdf(traj, tmp_path / f"hop{T}.nc")
        d = load(path, o)
        assert d.valid.sum() == d.n_frames - 10           # p_hop undefined in the first/last W/2 frames
        runs = find_runs(d.rearranging, d.valid)
        # Isolated hops (no other hop of that particle within 12 frames): exactly one run each,
        # containing the hop frame or the one before (p_hop's window is symmetric about the jump).
        f_h, i_h = np.nonzero(hops)
        isolated = [(f, p) for f, p in zip(f_h, i_h) if hops[max(f - 12, 0): f + 13, p].sum() == 1]
        assert len(isolated) > 100
        for f, p in isolated:
            mine = (runs.particle == p) & (runs.start <= f) & (runs.start + runs.length > f - 1)
            assert mine.sum() == 1, (f, p)
        assert abs(runs.n - hops.sum()) <= 0.05 * hops.sum()
        assert not (d.rearranging & ~np.isin(np.arange(d.n_particles), i_h)[None, :]).any()  # no false flags
        tables.append(d)
        truth.append(gamma)
    edges = rl.common_edges(tables, 0.25)
    for d, gamma in zip(tables, truth):
        t = rl.rate_table(d, edges, o)
        fit = rl.fit_quadratic(t, o, Diagnostics())
        # P(flagged | S) = d x P(hop | S): the S dependence is the hop law's (delta = 0).
        print(f"T={d.temperature}: gamma {fit['gamma']:.3f} +- {fit.err('gamma'):.3f} (true {gamma}), "
              f"delta {fit['delta']:.3f} +- {fit.err('delta'):.3f}, d = {t.d:.2f} frames, runs {t.n_runs}")
        assert abs(fit["gamma"] - gamma) < 3 * fit.err("gamma") + 0.05
        assert abs(fit["delta"]) < 3 * fit.err("delta") + 0.03


def test_model_check_flags_a_correlation_that_fails_on_some_lattice_size():
    """A fitted C(r) that is not positive definite on small lattices must be reported."""
    from trsp_core.measure.diagnostics import Diagnostics
    from trsp_core.measure.options import MeasureOptions
    from trsp_core.measure.pipeline import _check_model
    from trsp_core.physics.params import DescriptorParams

    bad = DescriptorParams(C1=3.5, xi=0.9)
    _, failures, _, _ = _check_model(bad, MeasureOptions(), [0.5], Diagnostics())
    assert failures and all(f.startswith("C(r) at T=0.5") for f in failures)
    assert "not positive definite" in failures[0] and "remedy: " in failures[0] and "--corr-temperature T" in failures[0]
    good = Diagnostics()
    params, failures, scale, bmax = _check_model(DescriptorParams(), MeasureOptions(), [0.5], good)
    assert not failures and not good.warnings and scale == 1.0 and 0 < bmax[0][1] < 1


def test_an_infeasible_kick_is_shrunk_to_the_target_or_refused():
    """K_Delta ~ s^2 and K' does not depend on s: scaling s(r) by f scales b_max by f^2 exactly."""
    from trsp_core.measure.diagnostics import Diagnostics
    from trsp_core.measure.options import MeasureOptions
    from trsp_core.measure.pipeline import _check_model
    from trsp_core.model import Model
    from trsp_core.plugin.registry import default_registry
    from trsp_core.physics.params import DescriptorParams

    big = DescriptorParams(s0=1.2, s1=1.6)
    o = MeasureOptions(kick_b_target=0.8)
    params, failures, scale, bmax = _check_model(big, o, [0.45, 0.6], Diagnostics())
    assert not failures and max(b for _, b in bmax) > 1 and scale < 1
    reg = default_registry()
    b_new = max(Model(reg.get("lattice", o.lattice)(8, params.a), params, reg.get("cluster", o.cluster),
                      reg.get("rate", "arrhenius"), t).check_feasible() for t in (0.45, 0.6))
    assert abs(b_new - 0.8) < 1e-8
    assert np.isclose(params.s0 / big.s0, scale) and np.isclose(params.s1 / big.s1, scale)
    _, failures, _, _ = _check_model(big, attrs.evolve(o, kick_feasibility="error"), [0.45, 0.6], Diagnostics())
    assert len(failures) == 1 and failures[0].startswith("kick at T=") and "remedy" in failures[0]


def test_temperature_options_accept_the_printed_value():
    """A temperature copied from a report (6 significant digits) selects its data set; a
    different temperature (the run's target instead of its measured mean) does not."""
    from trsp_core.measure.pipeline import _chosen

    T = np.array([0.599948356249061, 0.7077027499594223])
    np.testing.assert_array_equal(_chosen(T, (0.707703,)), [False, True])
    np.testing.assert_array_equal(_chosen(T, (0.7,)), [False, False])
    np.testing.assert_array_equal(_chosen(T, None), [True, True])


def test_mixture_cluster_is_refused_with_the_remedy():
    # measure's bare-law diagnostics renormalise for one geometry; a mixture gets a
    # clear error naming the option (compose takes the mixture with the written file)
    from trsp_core.errors import ParameterError

    with pytest.raises(ParameterError, match=r"'cluster' = 'single:0.3\+plaquette:0.7' is a mixture.*--cluster plaquette"):
        MeasureOptions(cluster="single:0.3+plaquette:0.7")
    # malformed mixtures too (compose's parser would reject the syntax; measure names its own reason)
    with pytest.raises(ParameterError, match=r"is a mixture"):
        MeasureOptions(cluster="single:0.3+plaquette")
    assert MeasureOptions(cluster="single").cluster == "single"


@pytest.mark.parametrize("key", ["kick_feasibility", "tabulate_profiles"])
def test_choice_options_name_the_option_and_its_choices(key):
    from trsp_core.errors import ParameterError

    with pytest.raises(ParameterError, match=rf"measure option '{key}' must be one of .*got 'foo'"):
        MeasureOptions(**{key: "foo"})


def test_cli_tabulate_profiles_choice_is_one_line(tmp_path):
    r = subprocess.run(TRSP + ["measure", str(tmp_path / "x.nc"), "--tabulate-profiles", "foo",
                               "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == ["trsp: error: measure option 'tabulate_profiles' must be one of auto, "
                                             "never, got 'foo'"]
