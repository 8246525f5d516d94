"""trsp_core.compare: model frames x frame_dt, temperature matching, the table against
the input numbers, the stacked MD layout and the figure files."""
import json
import re
import warnings

import numpy as np
import pytest
import xarray as xr

import trsp_core as trsp
from trsp_core.compare import compare, match_temperatures, stack_temperatures, write_outputs
from trsp_core.compare.report import markdown, ratio
from trsp_core.errors import InputFileError, ParameterError


# ------------------------------------------------------------------ fabricated inputs
def md_single(T, tau=(10.0, 12.0), tau_err=(1.0, 1.5), chi=(2.0, 2.5), chi_err=(0.5, 0.4), xi=(1.5, 1.6),
              xi_err=(0.1, 0.2), n_lags=20, t_max=100.0, n_q=4):
    """One temperature in MDDynamics.compute's layout (dims indicator, lag, q_shell)."""
    lag = np.geomspace(1.0, t_max, n_lags)
    inds = ["phop", "overlap"]
    Q = np.stack([np.exp(-lag / t) for t in tau])
    c = np.stack([x * np.exp(-np.log(lag / t) ** 2) for x, t in zip(chi, tau)])
    v = {
        "Q": (("indicator", "lag"), Q, {"units": "1", "long_name": "overlap Q(t)"}),
        "Q_err": (("indicator", "lag"), 0.01 + 0 * Q, {"units": "1", "long_name": "err"}),
        "chi4": (("indicator", "lag"), c, {"units": "1", "long_name": "chi4"}),
        "chi4_err": (("indicator", "lag"), 0.1 + 0 * c, {"units": "1", "long_name": "err"}),
        "tau_alpha": ("indicator", list(tau), {"units": "tau", "long_name": "tau_alpha"}),
        "tau_alpha_err": ("indicator", list(tau_err), {"units": "tau", "long_name": "err"}),
        "chi4_star": ("indicator", list(chi), {"units": "1", "long_name": "chi4*"}),
        "chi4_star_err": ("indicator", list(chi_err), {"units": "1", "long_name": "err"}),
        "xi4": ("indicator", list(xi), {"units": "sigma_AA", "long_name": "xi4"}),
        "xi4_err": ("indicator", list(xi_err), {"units": "sigma_AA", "long_name": "err"}),
        "S4": (("indicator", "q_shell"), np.ones((2, n_q)), {"units": "1", "long_name": "S4"}),
        "S4_err": (("indicator", "q_shell"), np.ones((2, n_q)), {"units": "1", "long_name": "err"}),
    }
    return xr.Dataset(v, coords={"indicator": inds, "lag": ("lag", lag, {"units": "tau", "long_name": "lag"}),
                                 "q_shell": ("q_shell", np.arange(n_q) * 0.5, {"units": "1/sigma_AA", "long_name": "q"})},
                      attrs={"dt": 1.0, "n_particles": 200, "n_runs": 2, "species": 0, "phop_threshold": 0.2,
                             "phop_window": 10, "overlap_a": 0.3, "error_resampling": "runs", "temperature": T})


def md_stacked(temps, **kw):
    return stack_temperatures({T: md_single(T, **kw) for T in temps})


def sweep(temps, tau, tau_err, chi, chi_err, xi, xi_err, variants=None, n_lags=12):
    """A sweep.nc-like dataset: variant x temperature (x lag_index), lags in frames."""
    variants = variants or [{"descriptor": "softness-kalj", "lattice": "cubic", "size": 6, "cluster": "plaquette",
                             "delta_rule": "nearest", "rate": "arrhenius", "facilitation": 1.0, "params": None}]
    nv, nt = len(variants), len(temps)
    lag = np.broadcast_to(np.geomspace(0.5, 50.0, n_lags), (nv, nt, n_lags)).copy()
    sc = {name: (("variant", "temperature"), np.broadcast_to(np.asarray(val, float), (nv, nt)).copy())
          for name, val in dict(tau_alpha=tau, tau_alpha_err=tau_err, chi4_star=chi, chi4_star_err=chi_err, xi4=xi,
                                xi4_err=xi_err).items()}
    return xr.Dataset({**sc, "lag": (("variant", "temperature", "lag_index"), lag),
                       "Q": (("variant", "temperature", "lag_index"), np.exp(-lag / 10)),
                       "chi4": (("variant", "temperature", "lag_index"), 0 * lag + 1.0)},
                      coords={"variant": np.arange(nv), "temperature": list(temps)},
                      attrs={"sweep_json": json.dumps({"variants": variants, "temperatures": list(temps)})})


@pytest.fixture(scope="module")
def composed():
    """A real compose dataset (3 seeds, reference backend) with frame_dt = 2.5."""
    return trsp.compose(size=4, temperature=0.6, params={"frame_dt": 2.5}).run(seeds=3, duration=300,
                                                                               backend="reference")


# ------------------------------------------------------------------ time conversion
def test_model_times_are_frames_times_frame_dt(composed):
    assert composed.attrs["param_frame_dt"] == 2.5
    ds = compare(md_stacked([0.6]), composed)
    m = ds.sel(source="model", temperature=0.6)
    assert float(m.frame_dt) == 2.5
    assert float(m.tau_alpha) == pytest.approx(2.5 * float(composed.tau_alpha))
    assert float(m.tau_alpha_err) == pytest.approx(2.5 * float(composed.tau_alpha_err))
    assert float(m.tau_alpha_frames) == pytest.approx(float(composed.tau_alpha))
    n = composed.sizes["lag"]
    np.testing.assert_allclose(m.lag.values[:n], 2.5 * composed.lag.values)
    np.testing.assert_allclose(m.Q.values[:n], composed.Q.values)          # values unchanged, only times
    assert float(m.chi4_star) == pytest.approx(float(composed.chi4_star))  # dimensionless: not scaled
    # MD times are taken as they are
    d = ds.sel(source="md:phop", temperature=0.6)
    assert float(d.tau_alpha) == 10.0 and np.isnan(float(d.frame_dt))


def test_missing_frame_dt_assumes_one_and_warns(composed):
    old = composed.copy()
    del old.attrs["param_frame_dt"]
    p = json.loads(old.attrs["trsp_params_json"])
    p.pop("frame_dt")
    old.attrs["trsp_params_json"] = json.dumps(p)
    with pytest.warns(UserWarning, match="no attribute 'param_frame_dt'; assuming frame_dt = 1"):
        ds = compare(md_stacked([0.6]), old)
    m = ds.sel(source="model", temperature=0.6)
    assert float(m.frame_dt) == 1.0 and float(m.tau_alpha) == pytest.approx(float(composed.tau_alpha))
    assert "assuming frame_dt = 1" in ds.attrs["warnings"]
    assert "assuming frame_dt" in markdown(ds)


def test_compose_curve_errors_from_the_event_log(composed):
    m = compare(md_stacked([0.6]), composed).sel(source="model", temperature=0.6)
    n = composed.sizes["lag"]
    assert np.all(np.isfinite(m.Q_err.values[:n])) and np.all(np.isfinite(m.chi4_err.values[:n]))
    assert m.chi4_err.values[:n].max() > 0
    assert np.all(np.isnan(m.lag.values[n:]))                               # padding to the longest source


def test_sweep_frame_dt_from_the_variant_and_one_source_per_variant():
    v1 = {"descriptor": "softness-kalj", "lattice": "cubic", "size": 6, "cluster": "plaquette", "delta_rule": "nearest",
          "rate": "arrhenius", "facilitation": 1.0, "params": None}
    sw = sweep([0.6, 0.7], 20.0, 2.0, 3.0, 0.3, 1.2, 0.1, variants=[v1, {**v1, "cluster": "single"}])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default descriptor resolves frame_dt: no warning
        ds = compare(md_stacked([0.6]), sw)
    assert list(ds.source.values) == ["model:plaquette c=1 L=6", "model:single c=1 L=6", "md:phop", "md:overlap"]
    assert np.all(ds.frame_dt.sel(source="model:single c=1 L=6").values == 1.0)
    np.testing.assert_allclose(ds.lag.sel(source="model:single c=1 L=6", temperature=0.7).values[:12],
                               np.geomspace(0.5, 50.0, 12))


# ------------------------------------------------------------------ temperatures
def test_match_temperatures_within_tolerance():
    m = match_temperatures([0.6 + 5e-7, 0.7, 0.6 + 2e-6], preferred=[0.6])
    assert m[0.6 + 5e-7] == 0.6 and m[0.6] == 0.6        # named by the MD value
    assert m[0.7] == 0.7 and m[0.6 + 2e-6] == 0.6 + 2e-6  # beyond 1e-6: another temperature


def test_one_sided_temperatures_are_kept_and_listed():
    sw = sweep([0.6 + 5e-7, 0.7], [20.0, 5.0], 2.0, 3.0, 0.3, 1.2, 0.1)
    ds = compare(md_stacked([0.6, 0.8]), sw)
    np.testing.assert_allclose(ds.temperature.values, [0.6, 0.7, 0.8])
    assert list(ds.matched.values) == [1, 0, 0]
    assert ds.attrs["unmatched_temperatures"] == "temperatures on one side only: model 0.7; MD 0.8"
    assert float(ds.tau_alpha.sel(source="model", temperature=0.6)) == 20.0
    assert float(ds.tau_alpha.sel(source="model", temperature=0.7)) == 5.0
    assert np.isnan(float(ds.tau_alpha.sel(source="md:phop", temperature=0.7)))
    assert float(ds.tau_alpha.sel(source="md:phop", temperature=0.8)) == 10.0
    assert "## T = 0.7 (one side only)" in markdown(ds)


def test_two_inputs_for_one_source_and_temperature_are_refused():
    with pytest.raises(ParameterError, match="two inputs for source 'md:phop' at T=0.6"):
        compare([md_stacked([0.6]), md_stacked([0.6 + 1e-8])], sweep([0.6], 1, 1, 1, 1, 1, 1))


def test_not_a_model_or_md_dataset():
    with pytest.raises(InputFileError, match="neither a trsp compose file nor a trsp sweep"):
        compare(md_stacked([0.6]), xr.Dataset({"x": ("a", [1.0])}))
    with pytest.raises(InputFileError, match="is not an md_dynamics result"):
        compare(xr.Dataset({"x": ("a", [1.0])}), sweep([0.6], 1, 1, 1, 1, 1, 1))


# ------------------------------------------------------------------ the table
def _row(text, T, label):
    block = text.split(f"## T = {T:g}")[1].split("## T =")[0]
    head = next(line for line in block.splitlines() if line.startswith("| quantity"))
    row = next(line for line in block.splitlines() if line.startswith(f"| {label} "))
    cells = lambda line: [c.strip() for c in line.strip("|").split("|")]  # noqa: E731
    return dict(zip(cells(head), cells(row)))


def test_table_holds_the_input_numbers_and_ratios():
    sw = sweep([0.6], tau=20.0, tau_err=2.0, chi=3.0, chi_err=0.3, xi=1.2, xi_err=0.12)
    ds = compare(md_stacked([0.6]), sw)
    text = markdown(ds)
    tau = _row(text, 0.6, "tau_alpha [tau]")
    assert tau["model"] == "20 ± 2" and tau["md:phop"] == "10 ± 1" and tau["md:overlap"] == "12 ± 1.5"
    r, e = ratio(20.0, 2.0, 10.0, 1.0)
    assert (r, e) == pytest.approx((2.0, 2.0 * np.hypot(0.1, 0.1)))
    assert tau["model / md:phop"] == f"{r:.3g} ± {e:.2g}" == "2 ± 0.28"
    chi = _row(text, 0.6, "chi4*")
    assert chi["model"] == "3 ± 0.3" and chi["md:phop"] == "2 ± 0.5" and chi["model / md:overlap"] == "1.2 ± 0.23"
    xi = _row(text, 0.6, "xi4 [sigma_AA]")
    assert xi["model"] == "1.2 ± 0.12" and xi["md:overlap"] == "1.6 ± 0.2" and xi["model / md:phop"] == "0.8 ± 0.096"


def test_nan_entries_print_as_not_available():
    sw = sweep([0.6], 20.0, 2.0, 3.0, 0.3, np.nan, np.nan)
    xi = _row(markdown(compare(md_stacked([0.6]), sw)), 0.6, "xi4 [sigma_AA]")
    assert xi["model"] == "n/a" and xi["model / md:phop"] == "n/a"


# ------------------------------------------------------------------ MD layout and outputs
def test_stack_pads_per_temperature_lags_and_labels_every_variable():
    ds = stack_temperatures({0.6: md_single(0.6, n_lags=20, n_q=4), 0.7: md_single(0.7, n_lags=14, t_max=50, n_q=6)})
    assert ds.Q.dims == ("temperature", "indicator", "lag_index") and ds.lag.dims == ("temperature", "lag_index")
    assert ds.sizes["lag_index"] == 20 and ds.sizes["q_index"] == 6
    assert np.isnan(ds.lag.sel(temperature=0.7).values[14:]).all()
    assert ds.lag.sel(temperature=0.7).values[13] == pytest.approx(50.0)
    for name, var in {**ds.data_vars, **ds.coords}.items():
        assert "units" in var.attrs and "long_name" in var.attrs, name
    assert ds.attrs["Conventions"].startswith("CF") and "arXiv" in ds.attrs["references"] and ds.attrs["history"]


def test_write_outputs_files_exist_and_are_labelled(tmp_path):
    sw = sweep([0.6, 0.7], [20.0, 5.0], 2.0, 3.0, 0.3, 1.2, 0.1)
    paths = write_outputs(compare(md_stacked([0.6, 0.7]), sw), tmp_path / "out")
    assert {p.name for p in paths.values()} == {"compare.nc", "compare.md", "fig4_Q_chi4.png", "fig5_tau_chi4_xi4.png"}
    for p in paths.values():
        assert p.is_file() and p.stat().st_size > 500, p
    assert paths["fig4"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with xr.open_dataset(paths["netcdf"]) as ds:
        assert ds.tau_alpha.dims == ("source", "temperature") and ds.Q.dims == ("source", "temperature", "lag_index")
        for name, var in {**ds.data_vars, **ds.coords}.items():
            assert "units" in var.attrs and "long_name" in var.attrs, name
        assert ds.attrs["Conventions"].startswith("CF") and ds.attrs["history"] and ds.attrs["references"]
        assert float(ds.xi4_err.sel(source="md:overlap", temperature=0.7)) == pytest.approx(0.2)
    assert re.search(r"## T = 0.7\n", paths["report"].read_text())


def test_sweep_frame_dt_from_its_per_run_files_else_assumed(tmp_path):
    v = {"descriptor": "softness-kalj", "lattice": "cubic", "size": 6, "cluster": "plaquette", "delta_rule": "nearest",
         "rate": "arrhenius", "facilitation": 1.0, "params": str(tmp_path / "gone.toml")}
    sw = sweep([0.6], 20.0, 2.0, 3.0, 0.3, 1.2, 0.1, variants=[v])
    (tmp_path / "s" / "runs").mkdir(parents=True)
    sw.to_netcdf(tmp_path / "s" / "sweep.nc")
    # the parameter file is gone and no run file records frame_dt: 1.0, with a warning
    with pytest.warns(UserWarning, match="variant 0: no frame_dt found.*assuming frame_dt = 1"):
        ds = compare(md_stacked([0.6]), tmp_path / "s")
    assert float(ds.frame_dt.sel(source="model", temperature=0.6)) == 1.0
    # a per-run file of the variant says 3.0
    xr.Dataset(attrs={"param_frame_dt": 3.0, "variant_json": json.dumps(v)}).to_netcdf(tmp_path / "s" / "runs" / "a.nc")
    ds = compare(md_stacked([0.6]), tmp_path / "s")
    m = ds.sel(source="model", temperature=0.6)
    assert float(m.frame_dt) == 3.0 and float(m.tau_alpha) == 60.0 and float(m.tau_alpha_err) == 6.0
    assert float(m.lag[0]) == pytest.approx(1.5) and str(m.file.values).endswith("sweep.nc")
