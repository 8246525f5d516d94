"""Bad input, through the command line: a non-zero exit, one line naming the parameter
or file, no traceback, and (where it matters) no work done.

Each case runs ``trsp_core.cli.main`` in this process (one import for all cases; a
subprocess per case would cost ~2 s each). An unexpected exception propagates out of
``main`` and fails the test, exactly where a user would have seen a traceback.
A few end-to-end cases also run as a subprocess of the console entry point.
"""
from __future__ import annotations

import json
import math
import os
import stat
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from trsp_core.cli import main

TINY = ["--size", "4", "--seeds", "1", "--backend", "reference"]


def run_cli(capsys, monkeypatch, *args):
    """(exit code, stdout, stderr) of ``trsp ARGS`` run in-process."""
    monkeypatch.setattr(sys, "argv", ["trsp", *map(str, args)])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, out, err, *needles):
    assert code != 0, f"exit 0 on bad input:\n{out}\n{err}"
    assert "Traceback" not in err and "Traceback" not in out
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("trsp: warning:")]
    assert len(lines) == 1, f"expected one error line, got:\n{err}"
    assert lines[0].startswith("trsp: error: "), lines[0]
    for n in needles:
        assert n in lines[0], f"{n!r} not in {lines[0]!r}"


@pytest.fixture
def bad(capsys, monkeypatch):
    def check(args, *needles):
        assert_one_line_error(*run_cli(capsys, monkeypatch, *args), *needles)
    return check


def _char_device_or_fifo(path):
    """A character device (as /dev/full, made with mknod where allowed), else a FIFO:
    a special file that must never be replaced by an output file."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 7))
        return "a character device"
    except (OSError, AttributeError):
        os.mkfifo(path)
        return "a FIFO"


# ---------------------------------------------------------------- output paths
def test_output_paths_are_checked_before_work(bad, tmp_path):
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    dev = tmp_path / "dev"
    kind = _char_device_or_fifo(dev)
    bad(["compose", *TINY, "--out", tmp_path / "adir"], "--out", "is a directory")
    bad(["compose", *TINY, "--out", tmp_path / "afile" / "x.nc"], "--out", "afile exists and is not a directory")
    bad(["compose", *TINY, "--out", dev], "--out", kind)
    bad(["compose", *TINY, "--out", "/proc/trsp_test.nc"], "--out", "/proc")
    bad(["inspect", "--size", "4", "--out", tmp_path / "adir"], "--out", "is a directory")
    bad(["sweep", "--temperatures", "0.6", "--size", "4", "--seeds", "1", "--out", tmp_path / "afile"],
        "--out", "is not a directory")
    bad(["age", "--seeds", "1", "--size", "4", "--duration", "10", "--out", "/proc/trsp_aging"], "--out", "/proc")
    bad(["validate", "--quick", "--out", tmp_path / "afile"], "--out", "is not a directory")
    assert (tmp_path / "afile").read_text() == "x"
    assert stat.S_ISCHR(dev.stat().st_mode) or stat.S_ISFIFO(dev.stat().st_mode)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_unwritable_directory(bad, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        bad(["compose", *TINY, "--out", ro / "x.nc"], "--out", "cannot write in directory")
    finally:
        ro.chmod(0o700)


# ---------------------------------------------------------------- numeric options
@pytest.mark.parametrize("args,needles", [
    (["--seed", "-1"], ["--seed", "[0, "]),
    (["--seed", str(2**63)], ["--seed", "2^63 - 1"]),
    (["--seeds", "0"], ["--seeds must be >= 1"]),
    (["--duration", "-1"], ["--duration", ">= 1"]),
    (["--duration", "1e-6"], ["--duration", ">= 1"]),
    (["--duration", "nan"], ["--duration", "finite"]),
    (["--backend", "foo"], ["backend 'foo'"]),
    (["--observables", "foo"], ["observable plugin 'foo'"]),
    (["--temperature", "0"], ["temperature must be > 0"]),
    (["--temperature", "nan"], ["temperature"]),
])
def test_compose_options(bad, tmp_path, args, needles):
    bad(["compose", *TINY, *args, "--out", tmp_path / "x.nc"], *needles)
    assert not (tmp_path / "x.nc").exists()


@pytest.mark.parametrize("args,needles", [
    (["--duration", "-1"], ["--duration"]),
    (["--tau-factor", "0"], ["--tau-factor"]),
    (["--max-duration", "-5"], ["--max-duration"]),
    (["--backend", "foo"], ["backend 'foo'"]),
    (["--observables", "foo"], ["observable plugin 'foo'"]),
    (["--workers", "-2"], ["--workers must be >= 1"]),
    (["--workers", "0"], ["--workers must be >= 1"]),
    (["--scheduler", "tcp://127.0.0.1:1"], ["--scheduler tcp://127.0.0.1:1", "no scheduler answers"]),
    (["--scheduler", "bogus://x"], ["--scheduler"]),
    (["--size", "abc"], ["--size", "integers"]),
    (["--temperatures", "0,0.5"], ["--temperatures"]),
    (["--seed", "-3"], ["--seed"]),
    (["--fields", "kicks"], ["fields must include 'events'"]),
])
def test_sweep_options_fail_in_the_client(bad, tmp_path, args, needles):
    out = tmp_path / "sw"
    bad(["sweep", "--temperatures", "0.6", "--size", "4", "--seeds", "1", "--out", out, *args], *needles)
    assert not (out / "runs").exists()   # nothing planned, nothing submitted


@pytest.mark.parametrize("args,needles", [
    (["--initial-temperature", "0"], ["--initial-temperature"]),
    (["--initial-temperature", "nan"], ["--initial-temperature"]),
    (["--final-temperatures", "-1"], ["--final-temperatures"]),
    (["--n-times", "0"], ["--n-times"]),
    (["--duration", "1e-6"], ["--duration"]),
    (["--tau-factor", "0"], ["--tau-factor"]),
    (["--max-duration", "-5"], ["--max-duration"]),
    (["--workers", "0"], ["--workers"]),
    (["--backend", "foo"], ["backend 'foo'"]),
    (["--scheduler", "tcp://127.0.0.1:1"], ["--scheduler"]),
])
def test_age_options_fail_in_the_client(bad, tmp_path, args, needles):
    out = tmp_path / "ag"
    bad(["age", "--seeds", "1", "--size", "4", "--out", out, *args], *needles)
    assert not (out / "runs").exists()


@pytest.mark.parametrize("sizes,needle", [("abc", "integers"), ("", "empty"), ("0", ">= 1")])
def test_bench_sizes(bad, sizes, needle):
    bad(["bench", "--sizes", sizes], "--sizes", needle)


# ---------------------------------------------------------------- parameter files
@pytest.mark.parametrize("text,needles", [
    ('[kicks]\nreset = "false"\n', ["'reset'", "boolean"]),
    ("[kicks]\nreset = 2\n", ["'reset'", "boolean"]),
    ("[structure]\nC0 = true\n", ["'C0'", "number"]),
    ('s1 = "0.7"\n', ["'s1'", "number"]),
    ("[kicks]\ne0 = 3.0\n", ["'e0'", "[kicks]", "[rates]"]),
    ("s1 = 0.7\n[kicks]\ns1 = 0.6\n", ["'s1'", "twice"]),
    ("[rates]\ne0 = 1e6\n", ["e0=1e+06", "not representable"]),
    ("[rates]\nSigma0 = 1e6\n", ["Sigma0=1e+06", "not representable"]),
    ("[rates]\nd = 1e-300\n", ["d=1e-300", "increase d"]),
])
def test_params_file_strictness(bad, tmp_path, text, needles):
    f = tmp_path / "p.toml"
    f.write_text(text)
    bad(["compose", *TINY, "--params", f, "--out", tmp_path / "x.nc"], *needles)


@pytest.mark.parametrize("text", ["", "[rates]\nT0 = 0.8\n"])
def test_gaussian_descriptor_requires_every_parameter(bad, tmp_path, text):
    f = tmp_path / "g.toml"
    f.write_text(text)
    bad(["compose", "--descriptor", "gaussian", "--params", f, *TINY, "--out", tmp_path / "x.nc"],
        "g.toml", "does not set", "C0", "e0", "s1")


def test_gaussian_descriptor_with_a_complete_file_runs(tmp_path):
    from trsp_core.physics.params import DescriptorParams, write_params_toml
    from trsp_core.spec import ModelSpec

    write_params_toml(DescriptorParams(name="g", s1=0.5), tmp_path / "g.toml")
    assert ModelSpec(descriptor="gaussian", params=tmp_path / "g.toml").resolved_params().s1 == 0.5


# A softness correlation length growing on cooling (issue 14): feasible at T = 0.7, the kick
# infeasible at T = 0.42 (largest eigenvalue of K_Delta K'^-1 = 1.02 at L = 20, checked once
# by hand). A campaign that includes T = 0.42 must be refused before any run is submitted.
XI_GROWS = """[structure.C_profile]
kind = "almost-exponential"
at_zero = 1.0
amplitude = 1.2
length = { a = 0.4, b = 0.42 }
"""


def test_temperature_dependent_form_checked_at_every_campaign_temperature(bad, tmp_path):
    f = tmp_path / "xi.toml"
    f.write_text(XI_GROWS)
    out = tmp_path / "sw"
    bad(["sweep", "--params", f, "--size", "20", "--seeds", "1", "--temperatures", "0.7,0.42",
         "--duration", "20", "--workers", "1", "--out", out], "T=0.42", "infeasible K_Delta", "0.4 + 0.42/T")
    assert not (out / "runs").exists() and not (out / "sweep.json").exists()
    # the same file at a temperature where it is feasible is accepted by the same check
    from trsp_core.campaigns.preflight import check_models
    from trsp_core.campaigns.spec import normalise_variant

    check_models([normalise_variant({"params": str(f), "size": 20})], [0.7])
    bad(["compose", "--params", f, "--size", "20", "--seeds", "1", "--temperature", "0.42", "--duration", "20",
         "--out", tmp_path / "x.nc"], "T=0.42", "infeasible K_Delta")


# ---------------------------------------------------------------- trsp plot inputs
@pytest.fixture
def plot_inputs(tmp_path):
    import importlib.util

    # the synthetic sweep of test_plot.py (tests are not a package: load it by path)
    spec = importlib.util.spec_from_file_location("_test_plot", os.path.join(os.path.dirname(__file__), "test_plot.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ds = mod._fake_sweep(tmp_path / "good.nc")
    raw = (tmp_path / "good.nc").read_bytes()
    (tmp_path / "empty.nc").write_bytes(b"")
    (tmp_path / "truncated.nc").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "text.nc").write_text("not a netCDF file\n")
    ds.drop_vars("chi4").to_netcdf(tmp_path / "novar.nc")
    ds.assign(tau_alpha=("variant", np.ones(ds.sizes["variant"]))).to_netcdf(tmp_path / "wrongdim.nc")
    xr.Dataset({"S_mean": (("model", "t"), np.zeros((2, 3)))}).to_netcdf(tmp_path / "aging.nc")
    return tmp_path


@pytest.mark.parametrize("name,needle", [
    ("empty.nc", "is empty"), ("truncated.nc", "not a readable netCDF file"),
    ("text.nc", "not a readable netCDF file"), ("novar.nc", "lacks the sweep variable(s) chi4"),
    ("wrongdim.nc", "variable 'tau_alpha' has dimensions"), ("aging.nc", "is an incomplete aging file"),
    ("missing.nc", "neither a sweep.nc file"),
])
def test_plot_bad_files(bad, plot_inputs, name, needle):
    bad(["plot", plot_inputs / name, "--out", plot_inputs / "fig"], name, needle)
    assert not (plot_inputs / "fig").exists()


def test_plot_copes_with_unmeasured_tau(plot_inputs):
    """A too-short point has NaN tau_alpha / chi4* in the sweep: its figures skip it."""
    from trsp_core.plotting.figures import plot_sweep

    ds = xr.open_dataset(plot_inputs / "good.nc").load()
    ds["tau_alpha"][0, 0] = ds["chi4_star"][0, 0] = np.nan
    ds.to_netcdf(plot_inputs / "nan.nc")
    assert len(plot_sweep(plot_inputs / "nan.nc", plot_inputs / "fig")) >= 8
    ds["tau_alpha"][:] = ds["chi4_star"][:] = np.nan      # nothing measured: said, not silently empty
    ds.to_netcdf(plot_inputs / "allnan.nc")
    with pytest.warns(UserWarning, match="no .* point has a measured tau_alpha"):
        plot_sweep(plot_inputs / "allnan.nc", plot_inputs / "fig2")


# ---------------------------------------------------------------- softness and measure
def test_softness_apply_refuses_a_nan_model(bad, tmp_path):
    from descriptors.softness_ml.structure import StructureParams
    from descriptors.softness_ml.training import LabelParams, SoftnessModel

    m = StructureParams().n_features
    coef = np.zeros(m)
    coef[3] = np.nan
    SoftnessModel(structure=StructureParams(), label=LabelParams(), mean=np.zeros(m), scale=np.ones(m),
                  coef=coef, intercept=0.0, C=0.1).save(tmp_path / "nan.json")
    fixture = os.path.join(os.path.dirname(__file__), "..", "fixtures", "ka", "ka_T055.npz")
    bad(["softness", "apply", tmp_path / "nan.json", fixture, "--out", tmp_path / "s.nc", "--no-progress"],
        "nan.json", "'coef' must be finite")
    assert not (tmp_path / "s.nc").exists()


def test_softness_train_absent_species(bad, tmp_path):
    fixture = os.path.join(os.path.dirname(__file__), "..", "fixtures", "ka", "ka_T055.npz")
    bad(["softness", "train", fixture, "--species", "7", "--out", tmp_path / "m.json", "--no-progress"],
        "species 7 not in the trajectories", "species present: 0, 1")


def _no_work(monkeypatch, *names):
    """Make the named softness functions fail the test if called: the error must come first."""
    import descriptors.softness_ml.cli as cli

    def called(*a, **k):
        raise AssertionError("work started before --out was checked")
    for name in names:
        monkeypatch.setattr(cli, name, called)


def test_softness_train_out_checked_before_training(bad, tmp_path, monkeypatch):
    fixture = os.path.join(os.path.dirname(__file__), "..", "fixtures", "ka", "ka_T055.npz")
    _no_work(monkeypatch, "read_trajectory", "train_softness")
    (tmp_path / "m.json").mkdir()
    bad(["softness", "train", fixture, "--out", tmp_path / "m.json", "--no-progress"],
        "trsp: error: --out", "m.json is a directory")
    (tmp_path / "file").write_text("")
    bad(["softness", "train", fixture, "--out", tmp_path / "file" / "m.json", "--no-progress"],
        "--out", "is not a directory")


def test_softness_apply_out_checked_before_work(bad, tmp_path, monkeypatch):
    from descriptors.softness_ml.structure import StructureParams
    from descriptors.softness_ml.training import LabelParams, SoftnessModel

    m = StructureParams().n_features
    SoftnessModel(structure=StructureParams(), label=LabelParams(), mean=np.zeros(m), scale=np.ones(m),
                  coef=np.zeros(m), intercept=0.0, C=0.1).save(tmp_path / "ok.json")
    fixture = os.path.join(os.path.dirname(__file__), "..", "fixtures", "ka", "ka_T055.npz")
    _no_work(monkeypatch, "read_trajectory", "apply_softness")
    (tmp_path / "s.nc").mkdir()
    bad(["softness", "apply", tmp_path / "ok.json", fixture, "--out", tmp_path / "s.nc", "--no-progress"],
        "--out", "s.nc is a directory")
    (tmp_path / "f").write_text("")
    bad(["softness", "apply", tmp_path / "ok.json", fixture, fixture, "--out", tmp_path / "f", "--no-progress"],
        "--out (a directory for several TRAJ)", "exists and is not a directory")


def test_measure_constant_descriptor(bad, tmp_path):
    from trsp_core.md import mdio

    rng = np.random.default_rng(0)
    g = 1.1 * np.stack(np.meshgrid(*[np.arange(4)] * 3, indexing="ij"), -1).reshape(-1, 3).astype(float)
    F, N = 60, len(g)
    files = []
    for T in (0.5, 0.6):
        t = mdio.Trajectory(positions=np.broadcast_to(g, (F, N, 3)).copy(), types=np.zeros(N), box=np.full(3, 4.4),
                            columns={"descriptor": np.full((F, N), 0.5),
                                     "phop": (rng.random((F, N)) < 0.05).astype(float)}, temperature=T)
        files.append(mdio.write_netcdf(t, tmp_path / f"c{T}.nc"))
    bad(["measure", *files, "--out", tmp_path / "out", "--no-figures"], "descriptor is constant")


# ---------------------------------------------------------------- no silent wrong result
def test_peak_at_an_edge_is_not_a_number():
    from trsp_core.observables.overlap import peak, peak_at_edge

    lags = np.geomspace(1, 100, 12)
    rising = np.linspace(0.1, 1.0, 12)
    assert peak_at_edge(rising) and all(math.isnan(v) for v in peak(lags, rising, edge="nan"))
    assert peak(lags, rising, edge="lag") == (100.0, 1.0)      # the resamples' convention
    assert all(math.isnan(v) for v in peak(lags, np.zeros(12), edge="nan"))   # no events
    bump = np.exp(-np.log(lags / 10.0) ** 2)
    tau, chi = peak(lags, bump, edge="nan")
    assert not peak_at_edge(bump) and tau == pytest.approx(10.0, rel=0.05) and chi == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("extra", [["--temperature", "0.3"],    # zero events
                                   # chi4 still rising at the last lag; xi4 (S4, block chi4) at tau_alpha neither
                                   ["--observables", "overlap,s4,block-chi4"]])
def test_too_short_compose_reports_no_tau_alpha(capsys, monkeypatch, tmp_path, extra):
    out = tmp_path / "short.nc"
    code, stdout, err = run_cli(capsys, monkeypatch, "compose", "--size", "8", "--seeds", "2", "--duration", "20",
                                *extra, "--out", out, "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["tau_alpha"] is None and summary["chi4_star"] is None and summary["tau_alpha_err"] is None
    assert "tau_alpha and chi4* are not measured" in err and "--duration" in err
    with xr.open_dataset(out) as ds:
        assert math.isnan(float(ds["tau_alpha"])) and math.isnan(float(ds["chi4_star"]))
        assert "--duration" in ds["tau_alpha"].attrs.get("comment", "")
        for name in ("xi4_oz", "xi4_block"):
            assert name not in ds or math.isnan(float(ds[name])), name
    # the human summary says it, never a number
    code, stdout, err = run_cli(capsys, monkeypatch, "compose", "--size", "8", "--seeds", "2", "--duration", "20",
                                *extra, "--out", out)
    tau_line = next(ln for ln in stdout.splitlines() if ln.strip().startswith("tau_alpha:"))
    assert "nan (not measured" in tau_line


# ---------------------------------------------------------------- end to end (console script)
@pytest.mark.parametrize("args,needle", [
    (["compose", "--seed", "-1"], "--seed"),
    (["sweep", "--workers", "0"], "--workers must be >= 1"),
    (["plot", "/dev/null"], "/dev/null"),
])
def test_subprocess_one_line(tmp_path, args, needle):
    p = subprocess.run([sys.executable, "-c", "from trsp_core.cli import main; main()", *args,
                        "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert_one_line_error(p.returncode, p.stdout, p.stderr, needle)
    assert p.returncode == 2


def test_too_short_sweep_says_which_points_are_unmeasured(capsys, monkeypatch, tmp_path):
    out = tmp_path / "sw"
    code, stdout, err = run_cli(capsys, monkeypatch, "sweep", "--temperatures", "0.6", "--size", "4", "--seeds", "2",
                                "--duration", "5", "--backend", "reference", "--observables", "overlap",
                                "--workers", "1", "--out", out, "--json")
    assert code == 0, err
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["tau_alpha_unmeasured"] == ["plaquette c=1 L=4 T=0.6"]
    assert "not measured (NaN) at 1 point(s)" in err and "--duration" in err
    with xr.open_dataset(out / "sweep.nc") as ds:
        assert np.isnan(ds["tau_alpha"].values).all() and np.isnan(ds["chi4_star"].values).all()


@pytest.mark.parametrize("cmd", [["measure", "{traj}"], ["md", "dynamics", "{traj}"],
                                 ["compare", "--md", "{traj}", "--model", "{traj}"]])
def test_md_commands_check_out_before_work(bad, tmp_path, cmd):
    """measure, md dynamics and compare refuse an --out they cannot write before reading any data
    (the trajectory given does not even exist: the --out check comes first)."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    target = blocker / "sub" if cmd[0] == "md" else blocker
    args = [a.format(traj=tmp_path / "missing.nc") for a in cmd]
    bad([*args, "--out", target], "--out", str(blocker))
