"""``trsp md dynamics`` and ``trsp compare`` as a user runs them: subprocesses of the
console entry point, on small synthetic trajectories and a small real compose file."""
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from trsp_core.cli.compare import expand_variadic
from trsp_core.md.mdio import Trajectory, write_netcdf

TRSP = [sys.executable, "-c", "from trsp_core.cli import main; main()"]


def trsp(*args, check=True):
    p = subprocess.run([*TRSP, *map(str, args)], capture_output=True, text=True, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"trsp {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def hoppers(T, seed, n=200, frames=300, p=0.01, box=5.5):
    """Particles vibrating about random sites and jumping ~0.6 sigma with probability p per frame."""
    rng = np.random.default_rng(seed)
    base = rng.random((n, 3)) * box
    jumps = (rng.random((frames, n)) < p)[..., None] * rng.normal(0, 0.6, (frames, n, 3))
    pos = (base + np.cumsum(jumps, axis=0) + rng.normal(0, 0.05, (frames, n, 3))) % box
    return Trajectory(positions=pos, types=np.zeros(n, int), box=np.full(3, box), dt=1.0, temperature=T)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("cmp")
    files = {"t06": write_netcdf(hoppers(0.6, 0), d / "t06.nc"), "t07": write_netcdf(hoppers(0.7, 1), d / "t07.nc")}
    files["compose"] = d / "compose.nc"
    trsp("compose", "--size", "6", "--seeds", "3", "--duration", "400", "--temperature", "0.6",
         "--out", files["compose"])
    files["dyn"] = d / "md_dynamics.nc"
    p = trsp("md", "dynamics", files["t06"], files["t07"], "--out", files["dyn"])
    files["dyn_stdout"] = p.stdout
    bad = d / "notes.txt"
    bad.write_text("not a trajectory\n")
    files["text"] = bad
    other = d / "other.nc"
    xr.Dataset({"x": ("a", [1.0, 2.0])}).to_netcdf(other)
    files["other"] = other
    return files


def test_md_dynamics_writes_one_labelled_file_with_a_temperature_axis(data):
    assert "T=0.6: phop: tau_alpha" in data["dyn_stdout"] and "T=0.7" in data["dyn_stdout"]
    with xr.open_dataset(data["dyn"]) as ds:
        assert list(ds.temperature.values) == [0.6, 0.7]
        assert ds.Q.dims == ("temperature", "indicator", "lag_index")
        assert ds.lag.dims == ("temperature", "lag_index") and ds.lag.attrs["units"] == "tau"
        assert list(ds.indicator.values) == ["phop", "overlap"]
        for name, var in {**ds.data_vars, **ds.coords}.items():
            assert "units" in var.attrs and "long_name" in var.attrs, name
        assert ds.attrs["Conventions"].startswith("CF") and "arXiv" in ds.attrs["references"]
        assert "md dynamics" in ds.attrs["history"]
        assert ds.attrs["phop_threshold"] == 0.2 and int(ds.n_particles.sel(temperature=0.6)) == 200


def test_md_dynamics_options_and_temperature_per_file(tmp_path, data):
    out = tmp_path / "d.nc"
    trsp("md", "dynamics", data["t06"], "--temperature", "0.65", "--overlap-a", "0.5", "--phop-threshold", "0.3",
         "--out", out)
    with xr.open_dataset(out) as ds:
        assert list(ds.temperature.values) == [0.65]
        assert ds.attrs["overlap_a"] == 0.5 and ds.attrs["phop_threshold"] == 0.3


def test_compare_from_trajectories_and_compose(tmp_path, data):
    out = tmp_path / "cmp"
    p = trsp("compare", "--md", data["t06"], data["t07"], "--model", data["compose"], "--out", out)
    assert "temperatures on one side only: model none; MD 0.7" in p.stderr
    assert "sources: model, md:phop, md:overlap" in p.stdout
    for name in ("compare.nc", "compare.md", "fig4_Q_chi4.png", "fig5_tau_chi4_xi4.png"):
        assert (out / name).stat().st_size > 500, name
    with xr.open_dataset(out / "compare.nc") as ds, xr.open_dataset(data["compose"]) as c, \
            xr.open_dataset(data["dyn"]) as d:
        fdt = float(c.attrs["param_frame_dt"])
        assert float(ds.tau_alpha.sel(source="model", temperature=0.6)) == pytest.approx(fdt * float(c.tau_alpha))
        # the same numbers as through the md_dynamics file (the bootstrap is seeded)
        np.testing.assert_allclose(ds.tau_alpha.sel(source="md:phop").values,
                                   d.tau_alpha.sel(indicator="phop").values, equal_nan=True)
    report = (out / "compare.md").read_text()
    assert "## T = 0.6\n" in report and "## T = 0.7 (one side only)" in report and "model / md:phop" in report


def test_compare_from_the_md_dynamics_file(tmp_path, data):
    out = tmp_path / "cmp"
    p = trsp("compare", "--md", data["dyn"], "--model", data["compose"], "--out", out, "--no-figures")
    assert not (out / "fig4_Q_chi4.png").exists()
    with xr.open_dataset(out / "compare.nc") as ds, xr.open_dataset(data["dyn"]) as d:
        np.testing.assert_allclose(ds.chi4_star.sel(source="md:overlap").values,
                                   d.chi4_star.sel(indicator="overlap").values, equal_nan=True)
    assert "warning" not in p.stderr  # compose files carry param_frame_dt


@pytest.mark.parametrize("args,needle", [
    (["--md", "{missing}", "--model", "{compose}"], "--md file '{missing}' does not exist"),
    (["--md", "{dyn}", "--model", "{missing}"], "--model file '{missing}' does not exist"),
    (["--md", "{other}", "--model", "{compose}"], "--md file '{other}' is neither an MD trajectory"),
    (["--md", "{compose}", "--model", "{compose}"], "--md file '{compose}' is neither an MD trajectory"),
    (["--md", "{text}", "--model", "{compose}"], "'{text}'"),
    (["--md", "{dyn}", "--model", "{t06}"], "--model file '{t06}' is neither a trsp compose file nor a trsp sweep"),
    (["--md", "{dyn}", "--model", "{text}"], "--model file '{text}' is not a readable netCDF file"),
    (["--md", "{t06}", "--temperature", "0.6", "--temperature", "0.7", "--model", "{compose}"],
     "--temperature given 2 times for 1 files"),
])
def test_compare_bad_inputs_fail_in_one_line_naming_the_file(tmp_path, data, args, needle):
    names = {k: str(v) for k, v in data.items() if k != "dyn_stdout"}
    names["missing"] = str(tmp_path / "missing.nc")
    p = trsp("compare", *[a.format(**names) for a in args], "--out", tmp_path / "o", check=False)
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("trsp: error: "), p.stderr
    assert needle.format(**names) in lines[0]
    assert not (tmp_path / "o" / "compare.nc").exists()


@pytest.mark.parametrize("which,needle", [("missing", "trajectory file '{}' does not exist"),
                                          ("other", "netCDF file '{}' is not a trsp trajectory"),
                                          ("text", "'{}'")])
def test_md_dynamics_bad_inputs(tmp_path, data, which, needle):
    path = tmp_path / "missing.nc" if which == "missing" else data[which]
    p = trsp("md", "dynamics", path, "--out", tmp_path / "d.nc", check=False)
    assert p.returncode != 0 and p.stderr.count("\n") == 1 and needle.format(path) in p.stderr
    assert not (tmp_path / "d.nc").exists()


def test_variadic_options_are_expanded():
    assert expand_variadic(["--md", "a", "b", "--model", "c", "--out", "o", "--md=d", "e"]) == \
        ["--md", "a", "--md", "b", "--model", "c", "--out", "o", "--md=d", "--md", "e"]
