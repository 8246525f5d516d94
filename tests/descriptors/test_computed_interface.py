"""The ComputedDescriptor interface and `trsp descriptors fit|compute`: per-species
standardisation and sign stored with the descriptor, the netCDF layout `trsp measure`
reads, and softness through the same route as `trsp softness apply`."""
import json
from pathlib import Path

import attrs
import numpy as np
import pytest
from typer.testing import CliRunner

from trsp_core.cli.descriptors import app
from trsp_core.errors import ParameterError
from trsp_core.md.mdio import Trajectory, read_netcdf, read_trajectory, write_netcdf
from trsp_core.plugin.interfaces import (ComputedDescriptor, Standardisation, load_descriptor, make_params,
                                         save_descriptor)
from trsp_core.plugin.registry import default_registry

FIXTURE = "tests/fixtures/ka/ka_T055.npz"


@attrs.frozen
class ScaleParams:
    factor: float = attrs.field(default=2.0, converter=float)


class XCoordinate(ComputedDescriptor):
    """Toy: raw value = factor * x; sign -1."""

    name = "x-coordinate"
    Params = ScaleParams
    sign = -1
    libraries = ()

    def compute_frame(self, box, positions, types):
        return self.params.factor * positions[:, 0]


@pytest.fixture(scope="module")
def ka():
    return read_trajectory(FIXTURE)


def part(t, frames, temperature=None):
    return Trajectory(positions=t.positions[frames], types=t.types, box=t.box, dt=t.dt,
                      temperature=t.temperature if temperature is None else temperature)


def test_standardisation_is_per_species_signed_and_required():
    rng = np.random.default_rng(0)
    pos = rng.uniform(0, 10, (4, 50, 3))
    types = np.repeat([0, 1], 25)
    d = XCoordinate({"factor": "3"})
    assert d.params.factor == 3.0 and not d.fitted
    with pytest.raises(ParameterError, match="no standardisation yet"):
        d.compute((np.full(3, 10.0), pos, types))
    d = d.fit((np.full(3, 10.0), pos, types))
    raw = 3 * pos[..., 0]
    st = d.standardisation
    for s in (0, 1):
        assert st.mean[s] == pytest.approx(raw[:, types == s].mean())
        assert st.std[s] == pytest.approx(raw[:, types == s].std())
        assert st.count[s] == 100
    s = d.compute((np.full(3, 10.0), pos, types))
    np.testing.assert_allclose(s[:, types == 1], -(raw[:, types == 1] - st.mean[1]) / st.std[1])
    for t in (0, 1):
        assert s[:, types == t].mean() == pytest.approx(0, abs=1e-12)
        assert s[:, types == t].std() == pytest.approx(1)
    # a species unseen in training gives NaN, not a silently wrong value
    assert np.all(np.isnan(st.apply(np.ones(3), np.array([2, 2, 2]))))


def test_parameters_from_strings_and_unknown_names():
    assert make_params(ScaleParams, {"factor": "0.5"}).factor == 0.5
    with pytest.raises(ParameterError, match="unknown descriptor parameter.*nope"):
        XCoordinate({"nope": 1})
    q6 = default_registry().get("structural", "q6")({"average": "true", "num_neighbors": "12"})
    assert q6.params.average is True and q6.params.num_neighbors == 12


def test_save_and_load_round_trip(tmp_path, ka):
    reg = default_registry()
    d = reg.get("structural", "fivefold")({"r_max": 1.35})
    sys = (ka.box, ka.positions[:3], ka.types)
    d = d.fit(sys)
    path = save_descriptor(d, tmp_path / "f5.json")
    data = json.loads(path.read_text())
    assert data["descriptor"] == "fivefold" and data["parameters"] == {"r_max": 1.35, "neighbours": "freud"}
    assert data["sign"] == -1 and set(data["versions"]) >= {"trsp", "numpy", "freud-analysis", "numba"}
    back = load_descriptor(path)
    assert back.params == d.params and back.standardisation == d.standardisation
    np.testing.assert_array_equal(back.compute(sys), d.compute(sys))


def test_cli_compute_pools_the_standardisation_and_measure_reads_it(tmp_path, ka):
    a = write_netcdf(part(ka, slice(0, 30)), tmp_path / "a.nc")
    b = write_netcdf(part(ka, slice(30, 60), temperature=0.6), tmp_path / "b.nc")
    runner = CliRunner()
    res = runner.invoke(app, ["compute", "q6", str(a), str(b), "--out", str(tmp_path / "out"),
                              "--param", "r_max=1.45", "--save-descriptor", str(tmp_path / "q6.json")])
    assert res.exit_code == 0, res.output
    outs = [read_netcdf(tmp_path / "out" / f"{n}.q6.nc") for n in ("a", "b")]
    s = np.concatenate([o.columns["descriptor"] for o in outs])
    types = ka.types
    for t in (0, 1):  # standardised over both files together, per species
        assert s[:, types == t].mean() == pytest.approx(0, abs=1e-9)
        assert s[:, types == t].std() == pytest.approx(1, rel=1e-9)
    assert abs(outs[0].columns["descriptor"][:, types == 0].mean()) > 1e-4  # not per file
    raw = default_registry().get("structural", "q6")({"r_max": 1.45}).raw((ka.box, ka.positions[:30], types))
    d = load_descriptor(tmp_path / "q6.json")
    a0 = types == 0
    np.testing.assert_allclose(outs[0].columns["descriptor"][:, a0],
                               -(raw[:, a0] - d.standardisation.mean[0]) / d.standardisation.std[0], rtol=1e-12)
    assert outs[1].temperature == 0.6 and outs[0].dt == ka.dt
    # the layout `trsp measure` reads: descriptor, phop, temperature, dt
    from trsp_core.measure.data import load
    from trsp_core.measure.options import MeasureOptions

    data = load(tmp_path / "out" / "a.q6.nc", MeasureOptions())
    assert data.descriptor.shape == (30, int((types == 0).sum())) and data.valid.sum() == 20
    import xarray as xr

    with xr.open_dataset(tmp_path / "out" / "a.q6.nc") as ds:
        assert ds.attrs["descriptor_name"] == "q6" and ds.attrs["descriptor_sign"] == -1
        assert json.loads(ds.attrs["descriptor_parameters"])["r_max"] == 1.45
        assert ds.attrs["phop_window"] == 10
    # the stored descriptor reproduces the values on the same file
    res = runner.invoke(app, ["compute", str(tmp_path / "q6.json"), str(a), "--out", str(tmp_path / "again.nc")])
    assert res.exit_code == 0, res.output
    np.testing.assert_array_equal(read_netcdf(tmp_path / "again.nc").columns["descriptor"],
                                  outs[0].columns["descriptor"])


def test_cli_fit_then_compute_applies_the_training_standardisation(tmp_path, ka):
    train = write_netcdf(part(ka, slice(0, 20)), tmp_path / "train.nc")
    other = write_netcdf(part(ka, slice(100, 120)), tmp_path / "other.nc")
    runner = CliRunner()
    res = runner.invoke(app, ["fit", "voronoi-volume", str(train), "--out", str(tmp_path / "v.json")])
    assert res.exit_code == 0, res.output
    d = load_descriptor(tmp_path / "v.json")
    raw = d.raw((ka.box, ka.positions[:20], ka.types))
    a0 = ka.types == 0
    assert d.standardisation.mean[0] == pytest.approx(raw[:, a0].mean(), rel=1e-12)
    res = runner.invoke(app, ["compute", str(tmp_path / "v.json"), str(other), "--out", str(tmp_path / "o.nc")])
    assert res.exit_code == 0, res.output
    s = read_netcdf(tmp_path / "o.nc").columns["descriptor"]
    raw_other = d.raw((ka.box, ka.positions[100:120], ka.types))
    np.testing.assert_allclose(s[:, a0], (raw_other[:, a0] - d.standardisation.mean[0]) / d.standardisation.std[0])
    assert abs(s[:, a0].mean()) > 1e-6  # the training frames' mean, not these frames'
    res = runner.invoke(app, ["compute", str(tmp_path / "v.json"), str(other), "--out", str(tmp_path / "p.nc"),
                              "--param", "x=1"])
    assert res.exit_code == 2 and "fixes its parameters" in res.output


def test_output_names_do_not_collide(tmp_path):
    from trsp_core.cli.descriptors import output_paths

    assert output_paths(tmp_path / "x.nc", [Path("a/run1.nc")], "q6") == [tmp_path / "x.nc"]
    assert output_paths(tmp_path, [Path("T0.5/run1.nc"), Path("T0.6/run1.nc")], "q6") == [
        tmp_path / "T0.5_run1.q6.nc", tmp_path / "T0.6_run1.q6.nc"]
    assert output_paths(tmp_path, [Path("a/run1.nc"), Path("a/run2.nc")], "q6", directory=True) == [
        tmp_path / "run1.q6.nc", tmp_path / "run2.q6.nc"]
    with pytest.raises(ParameterError, match="same output file"):
        output_paths(tmp_path, [Path("x/a/r.nc"), Path("y/a/r.nc")], "q6")


def test_cli_errors_are_one_line(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["compute", "no-such", FIXTURE, "--out", str(tmp_path / "x.nc")])
    assert res.exit_code == 2 and "unknown structural plugin 'no-such'" in res.output
    res = runner.invoke(app, ["compute", "q6", FIXTURE, "--out", str(tmp_path / "x.nc"), "--param", "bogus"])
    assert res.exit_code == 2 and "NAME=VALUE" in res.output
    res = runner.invoke(app, ["compute", "softness", FIXTURE, "--out", str(tmp_path / "x.nc")])
    assert res.exit_code == 2 and "needs parameter 'model'" in res.output


def test_softness_adapter_equals_softness_apply(tmp_path, ka):
    from descriptors.softness_ml.cli import app as softness_app
    from descriptors.softness_ml.structure import StructureParams
    from descriptors.softness_ml.training import LabelParams, SoftnessModel

    sp = StructureParams(n_mu=20, r_cut=3.0, angular_cut=2.0, xis=(1.0,), lambdas=(1.0,), zetas=(1.0,))
    m = sp.n_features
    rng = np.random.default_rng(2)
    model = SoftnessModel(structure=sp, label=LabelParams(), mean=rng.uniform(0, 1, m), scale=np.ones(m),
                          coef=rng.normal(0, 0.1, m), intercept=0.1, C=0.1)
    model.save(tmp_path / "m.json")
    traj = write_netcdf(part(ka, slice(0, 12)), tmp_path / "t.nc")
    runner = CliRunner()
    res = runner.invoke(softness_app, ["apply", str(tmp_path / "m.json"), str(traj), "--out", str(tmp_path / "s1.nc"),
                                       "--no-progress"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["compute", "softness", str(traj), "--param", f"model={tmp_path / 'm.json'}",
                              "--out", str(tmp_path / "s2.nc")])
    assert res.exit_code == 0, res.output
    s1 = read_netcdf(tmp_path / "s1.nc").columns["descriptor"]
    s2 = read_netcdf(tmp_path / "s2.nc").columns["descriptor"]
    assert np.isfinite(s1[:, ka.types == 0]).all() and np.isnan(s1[:, ka.types == 1]).all()
    np.testing.assert_array_equal(s1, s2)  # identity standardisation: softness keeps its SVM scale


def test_identity_standardisation():
    st = Standardisation.identity(2)
    assert np.array_equal(st.apply(np.array([1.5, -2.0]), np.array([0, 1])), [1.5, -2.0])
