"""The public Python API (``import trsp_core as trsp``), as docs/user-guide.md "From Python" uses it.

The checks compare the API against independent routes to the same numbers: the
CLI's file, a direct ``simulate`` call, and a model rebuilt from a file.
"""
import json

import numpy as np
import pytest
import xarray as xr

import trsp_core as trsp
from trsp_core.io import write_dataset
from trsp_core.run import ALL_FIELDS


def test_top_level_names_resolve():
    for name in trsp.__all__:
        assert getattr(trsp, name) is not None, name
    assert "ModelSpec" in dir(trsp)
    with pytest.raises(AttributeError):
        trsp.no_such_name  # noqa: B018


def test_params_without_a_file_and_evolve():
    base = trsp.ModelSpec(size=4, temperature=0.6)
    m1 = trsp.compose(size=4, temperature=0.6, params={"s1": 0.7})
    m2 = base.evolve(s1=0.7).build()
    m3 = trsp.compose(base, params={"s1": 0.7})
    for m in (m1, m2, m3):
        assert m.params.s1 == 0.7
        assert m.params.e0 == trsp.DescriptorParams().e0
    assert m1.spec == m2.spec == m3.spec
    assert base.key() != m1.spec.key()                       # an override is part of the identity
    assert base.evolve(temperature=0.5).key() != base.key()
    assert trsp.ModelSpec(size=4, temperature=0.6).key() == base.key()
    with pytest.raises(trsp.ParameterError, match="unknown descriptor parameter"):
        trsp.compose(params={"s_one": 0.7})
    with pytest.raises(trsp.ParameterError, match="unknown model choice or descriptor parameter 'colour'"):
        base.evolve(colour="red")


def test_reprs_are_short():
    model = trsp.compose(size=4, temperature=0.6)
    run = model.simulate(200, seed=1)
    for obj in (model, model.spec, run):
        assert len(repr(obj)) < 300, repr(obj)
    assert "T=0.6" in repr(model) and "seed=1" in repr(run)


def test_run_dataset_matches_direct_simulation():
    """Model.run seed i == simulate(seed + i): same event log, same observables."""
    model = trsp.compose(size=4, temperature=0.6)
    ds = model.run(seeds=2, seed=5, duration=300, observables=["overlap"], backend="reference")
    assert isinstance(ds, xr.Dataset)
    runs = [trsp.simulate(model, 300, 5 + i, backend="reference") for i in range(2)]
    np.testing.assert_array_equal(ds["event_time"].values, np.concatenate([r.times for r in runs]))
    ref = trsp.Overlap().compute(model, runs)
    np.testing.assert_allclose(ds["Q"].values, ref["Q"].values)
    s = trsp.summary(ds)
    assert s["events"] == sum(r.n_events for r in runs) and s["seeds"] == 2
    assert json.loads(ds.attrs["trsp_model_spec"])["temperature"] == 0.6


def test_open_run_of_a_compose_file(tmp_path):
    """A file written by Model.run reopens as the same model and runs; every observable
    computed on the reloaded runs equals the one computed in memory."""
    model = trsp.compose(size=4, temperature=0.6, params={"s1": 0.5})
    runs = [model.simulate(400, seed=s) for s in (0, 1)]
    ds = model.run(seeds=2, seed=0, duration=400, observables=["overlap"])
    write_dataset(ds, tmp_path / "c.nc")
    reopened = trsp.open_run(tmp_path / "c.nc")
    m2, runs2 = reopened
    assert m2.spec == model.spec and m2.params == model.params
    assert runs2[0].fields == ALL_FIELDS
    for obs in (trsp.DetailedBalanceTest(), trsp.TimeWeightedStatics(), trsp.ObservedRateLaw(), trsp.Overlap()):
        a, b = obs.compute(model, runs), obs.compute(m2, runs2)
        for name in a.data_vars:
            np.testing.assert_allclose(b[name].values, a[name].values, rtol=1e-12, equal_nan=True, err_msg=name)
        if obs.name == "detailed-balance":
            assert int(a["db_counts"].sum()) > 0   # the comparison above is not of empty tables


def test_open_run_of_sweep_and_aging_files(tmp_path):
    from trsp_core.campaigns.aging import execute_aging_run, plan_aging
    from trsp_core.campaigns.sweep import plan_runs
    from trsp_core.campaigns.spec import normalise_variant
    from trsp_core.campaigns.tasks import execute_run

    runs, _ = plan_runs([normalise_variant({"size": 4})], [0.6], 1, 3, tmp_path, "reference", 300.0, 20.0, 1e5)
    execute_run(runs[0])
    model, (run,) = trsp.open_run(runs[0]["path"])
    direct = model.simulate(300.0, 3, backend="reference", n_snapshots=0)
    np.testing.assert_array_equal(run.times, direct.times)
    np.testing.assert_array_equal(run.clusters, direct.clusters)
    assert run.fields == ("events",) and run.snapshots is None
    with pytest.raises(trsp.InputFileError, match=r"needs run field\(s\) kicks"):
        from trsp_core.observables import compute
        compute(trsp.DetailedBalanceTest(), model, [run])

    specs = plan_aging(0.8, [0.6], 1, 2, 4, "reference", 300.0, 20.0, 1e5, 6, tmp_path)
    execute_aging_run(specs[0])
    model, (arun,) = trsp.open_run(specs[0]["path"])
    assert model.temperature == 0.6 and set(arun.fields) == {"snapshot_mean", "endpoints"}
    direct = model.simulate(300.0, 2, backend="reference", snapshot_times=arun.snapshot_times, initial_temperature=0.8)
    np.testing.assert_allclose(arun.snapshot_mean, direct.snapshots.mean(axis=1), rtol=1e-12)


def test_open_run_refuses_what_is_not_a_run_file(tmp_path):
    with pytest.raises(trsp.InputFileError, match="does not exist"):
        trsp.open_run(tmp_path / "missing.nc")
    (tmp_path / "junk.nc").write_bytes(b"not netcdf")
    with pytest.raises(trsp.InputFileError, match="not a readable netCDF"):
        trsp.open_run(tmp_path / "junk.nc")
    write_dataset(xr.Dataset({"x": ("i", [1.0])}), tmp_path / "other.nc")
    with pytest.raises(trsp.InputFileError, match="not a trsp run file"):
        trsp.open_run(tmp_path / "other.nc")


def test_register_from_python_is_idempotent():
    import plugins.clusters as builtin_clusters

    reg = trsp.Registry(load_entrypoints=False)
    reg.register(builtin_clusters, name="clusters")
    reg.register(builtin_clusters, name="clusters")        # same object again: no-op
    assert reg.names("cluster") == ["bond", "plaquette", "single", "tetrahedron", "triangle"]
    with pytest.raises(trsp.PluginError, match="already registered"):
        reg.register(object(), name="clusters")
    assert reg.info("cluster", "single").description.startswith("one site")


def _guide_example() -> str:
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "user-guide.md").read_text()
    section = text[text.index("## From Python"):]
    return section[section.index("```python") + len("```python"):section.index("```\n", section.index("```python") + 9)]


def test_user_guide_python_example_end_to_end(tmp_path, monkeypatch):
    """The "From Python" example as printed; then its results against independent routes."""
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(_guide_example(), "docs/user-guide.md", "exec"), ns)  # noqa: S102

    model, ds = ns["model"], ns["ds"]
    assert model.params.s1 == 0.7 and model.spec.temperature == 0.6
    for name in ("Q", "chi4", "tau_alpha", "tau_alpha_err", "chi4_star"):
        assert name in ds, name
    assert np.isfinite(float(ds.tau_alpha)) and ds.sizes["run"] == 4
    # detailed balance from the reopened compose file == from runs simulated in memory
    in_memory = [model.simulate(3000, seed=i) for i in range(4)]
    ref = trsp.DetailedBalanceTest().compute(model, in_memory)
    assert int(ref["db_counts"].sum()) > 0
    for name in ref.data_vars:
        np.testing.assert_allclose(ns["db"][name].values, ref[name].values, rtol=1e-12, equal_nan=True)
    # ... and from the reopened sweep run file == its model simulated in memory
    sm, (srun,) = ns["sweep_model"], ns["sweep_runs"]
    from pathlib import Path

    duration = float(trsp.open_run(sorted(Path("sweep/runs").glob("*.nc"))[0]).attrs["duration"])
    direct = sm.simulate(duration, srun.seed, n_snapshots=0)
    # same events; times agree to rounding (the worker process's BLAS threading differs)
    np.testing.assert_array_equal(srun.clusters, direct.clusters)
    np.testing.assert_allclose(srun.times, direct.times, rtol=1e-13)
    sref = trsp.DetailedBalanceTest().compute(sm, [direct])
    assert int(sref["db_counts"].sum()) > 0
    for name in sref.data_vars:
        np.testing.assert_allclose(ns["sweep_db"][name].values, sref[name].values, rtol=1e-12, equal_nan=True)
