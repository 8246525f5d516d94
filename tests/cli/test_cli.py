"""The command line, run as a user would: a subprocess of the installed console script."""
import json
import subprocess
import sys

import pytest
import xarray as xr

from trsp_core.physics.params import DescriptorParams

TRSP = [sys.executable, "-c", "from trsp_core.cli import main; main()"]


def trsp(*args, check=True, env=None):
    p = subprocess.run([*TRSP, *args], capture_output=True, text=True, env=env, timeout=600)
    if check and p.returncode != 0:
        raise AssertionError(f"trsp {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def test_plugins_json():
    listing = json.loads(trsp("plugins", "--json").stdout)
    assert set(listing) == {"descriptor", "structural", "lattice", "cluster", "rate", "observable",
                            "profile"}
    assert {"softness-kalj", "gaussian", "trap"} <= set(listing["descriptor"])
    assert {"q6", "w6", "voronoi-volume", "s2", "fivefold", "softness"} <= set(listing["structural"])
    assert {"cubic", "square", "triangular", "fcc", "bcc"} <= set(listing["lattice"])
    assert {"single", "bond", "plaquette", "triangle", "tetrahedron"} <= set(listing["cluster"])
    assert {"arrhenius", "per-temperature"} <= set(listing["rate"]) and "overlap" in listing["observable"]
    assert {"almost-exponential", "tabulated", "damped-oscillation"} <= set(listing["profile"])


def test_compose_writes_labelled_netcdf(tmp_path):
    out = tmp_path / "run.nc"
    p = trsp("compose", "--size", "5", "--seeds", "2", "--duration", "600", "--backend", "reference",
             "--temperature", "0.6", "--out", str(out), "--json")
    summary = json.loads(p.stdout)
    for key in ("events", "tau_alpha", "chi4_star", "wall_s"):
        assert key in summary
    assert summary["events"] > 100
    with xr.open_dataset(out) as ds:
        for name, var in ds.data_vars.items():
            assert "units" in var.attrs and "long_name" in var.attrs, name
        assert ds.attrs["plugin_descriptor"] == "softness-kalj"
        assert ds.attrs["plugin_cluster"] == "plaquette"
        assert json.loads(ds.attrs["parameters_json"])["param_e0"] == DescriptorParams().e0
        assert "trsp_version" in ds.attrs
        assert ds.sizes["event"] == summary["events"]
        assert float(ds["tau_alpha"]) == pytest.approx(summary["tau_alpha"])


def test_compose_trap_model_by_composition(tmp_path):
    p = trsp("compose", "--descriptor", "trap", "--cluster", "single", "--size", "4", "--seeds", "1",
             "--duration", "300", "--backend", "reference", "--out", str(tmp_path / "t.nc"), "--json")
    assert json.loads(p.stdout)["events"] > 0


def test_inspect_writes_kernel(tmp_path):
    out = tmp_path / "k.nc"
    trsp("inspect", "--size", "8", "--cluster", "plaquette", "--delta-rule", "center-of-mass", "--out", str(out))
    with xr.open_dataset(out) as ds:
        assert ds["H"].dims == ("row", "col")
        assert ds.sizes["col"] == 512 and 0 < ds.sizes["row"] < 512
        for v in ("row_sites", "col_sites", "mu_prime", "K_delta", "K_prime"):
            assert v in ds


def _known(kind):
    """The message's plugin list as this environment has it (other trsp plugins may be installed)."""
    from trsp_core.plugin.registry import default_registry

    return ", ".join(default_registry().names(kind))


@pytest.mark.parametrize("args,needle", [
    (["compose", "--descriptor", "nope"], f"unknown descriptor plugin 'nope'; known descriptor plugins: {_known('descriptor')}"),
    (["compose", "--cluster", "hexagon"], f"unknown cluster plugin 'hexagon'; known cluster plugins: {_known('cluster')}"),
    (["compose", "--delta-rule", "far"], "unknown delta rule 'far'; choose one of: nearest, center-of-mass"),
    (["compose", "--params", "/nonexistent/p.toml"], "parameter file /nonexistent/p.toml does not exist"),
    (["compose", "--descriptor", "gaussian"], "descriptor 'gaussian' takes every parameter from a TOML file"),
    (["compose", "--temperature", "-1"], "temperature must be > 0"),
    (["compose", "--seeds", "0"], "--seeds must be >= 1"),
])
def test_clear_errors(args, needle):
    p = trsp(*args, check=False)
    assert p.returncode != 0
    assert needle in p.stderr
    assert "Traceback" not in p.stderr


def test_unreadable_params_file(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_bytes(b"\xff\xfe not toml [")
    p = trsp("compose", "--params", str(f), check=False)
    assert p.returncode != 0 and "is not readable TOML" in p.stderr


def test_version_is_the_installed_distributions():
    from importlib.metadata import version

    p = trsp("--version")
    assert p.stdout.strip() == f"trsp {version('trsp')}"


def test_values_are_printed_with_their_error_and_units():
    from trsp_core.cli import _human, value_with_error

    assert value_with_error(156.3, 10.2) == "156 ± 10"
    assert value_with_error(1.1839, 0.2312) == "1.18 ± 0.23"
    assert value_with_error(12345.6, 1234.5) == "12300 ± 1200"
    assert value_with_error(0.5, None) == "0.5"
    lines = dict(_human({"tau_alpha": 108.05, "tau_alpha_err": 12.75, "chi4_star": 1.18, "chi4_star_err": None,
                         "temperature": 0.55, "events": 103329}))
    assert lines["tau_alpha"] == "108 ± 13 frames" and "tau_alpha_err" not in lines
    assert lines["chi4_star"].startswith("1.18 (no error") and lines["temperature"] == "0.55 epsilon_AA/k_B"
    assert lines["events"] == "103,329"


def test_bench_prints_rates_with_units():
    from typer.testing import CliRunner

    from trsp_core.cli import app

    res = CliRunner().invoke(app, ["bench", "--sizes", "4", "--no-lattices"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert "fast [ev/s]" in lines[0] and "build [s]" in lines[0]
    row = lines[1].split()
    assert row[0] == "4" and float(row[1].replace(",", "")) > 0 and float(row[3].replace(",", "")) > 0
    assert any(ln.strip().startswith("peak_rss_mb:") and ln.rstrip().endswith("MiB (peak RSS of this process)")
               for ln in lines), res.stdout
    assert any("FLOP per event" in ln for ln in lines), res.stdout
