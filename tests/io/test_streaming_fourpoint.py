"""S4 and block chi4 in compose and sweeps without the event log: same numbers as the
in-memory observables on the loaded runs, memory independent of run length."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import xarray as xr

import trsp_core as trsp
from trsp_core.observables import BlockChi4, FourPointStructureFactor, Overlap
from trsp_core.streaming import chunked_runs_of_files, compose_to_file, simulate_to_file

S4 = ("S4", "S4_err", "S4_time", "S4_zero", "xi4_oz", "xi4_oz_err", "xi4_oz_err_boot", "xi4_oz_qxi")
BLOCK = ("chi4_block", "chi4_block_err", "block_time", "xi4_block", "chi4_inf")


def _equal(got, want, names):
    for name in names:
        np.testing.assert_array_equal(np.asarray(got[name].values), np.asarray(want[name].values), err_msg=name)
        assert got[name].attrs == want[name].attrs, name


@pytest.fixture(scope="module")
def model():
    return trsp.ModelSpec(size=8, temperature=0.6, cluster="plaquette").build()


def test_compose_streams_s4_and_block_chi4(tmp_path, model):
    """compose_to_file no longer falls back to Model.run for s4 / block-chi4; its numbers are
    the in-memory observables' on the runs read back from its file."""
    import trsp_core.model as model_module

    calls = []
    real = model_module.Model.run
    model_module.Model.run = lambda self, *a, **k: calls.append(1) or real(self, *a, **k)
    try:
        ds = compose_to_file(model, tmp_path / "c.nc", seeds=4, seed=2, duration=600,
                             observables=["overlap", "s4", "block-chi4"])
    finally:
        model_module.Model.run = real
    assert not calls and "event_time" not in ds
    runs = trsp.open_run(tmp_path / "c.nc").runs
    assert sum(r.n_events for r in runs) > 1000
    _equal(ds, FourPointStructureFactor().compute(model, runs), S4)
    _equal(ds, BlockChi4().compute(model, runs), BLOCK)
    assert float(ds.S4_time) == pytest.approx(float(ds.tau_alpha), rel=0.2)   # both argmax chi4
    with xr.open_dataset(tmp_path / "c.nc") as f:
        _equal(f, ds, S4 + BLOCK)


def test_sweep_files_four_point_equal_loaded_runs(tmp_path, model):
    from trsp_core.campaigns.tasks import load_runs

    paths = []
    for s in (9, 4, 6):  # not in seed order on purpose
        paths.append(tmp_path / f"r{s}.nc")
        simulate_to_file(model, paths[-1], 500 + 10 * s, s, fields=("events",), extra={"trsp_run_complete": 1},
                         backend="fast", n_snapshots=0)
    loaded = [r for p in paths for r in load_runs(p)]
    chunked = chunked_runs_of_files(paths)
    xr.testing.assert_identical(chunked.compute(Overlap(), model), Overlap().compute(model, loaded))
    _equal(chunked.compute(FourPointStructureFactor(), model), FourPointStructureFactor().compute(model, loaded), S4)
    _equal(chunked.compute(BlockChi4(t=30.0), model), BlockChi4(t=30.0).compute(model, loaded), BLOCK)


def test_combine_point_holds_no_event_log(tmp_path, model, monkeypatch):
    """The sweep's reduction with its default observables (overlap, s4, block-chi4) never loads a run."""
    from trsp_core.campaigns import tasks
    from trsp_core.campaigns.sweep import default_observables

    obs = default_observables()
    assert {"s4", "block-chi4"} <= set(obs)
    paths = []
    for s in (1, 2, 3):
        paths.append(str(tmp_path / f"r{s}.nc"))
        simulate_to_file(model, paths[-1], 500, s, fields=("events",), extra={"trsp_run_complete": 1},
                         backend="fast", n_snapshots=0)
    loaded = [r for p in paths for r in tasks.load_runs(p)]
    monkeypatch.setattr(tasks, "load_runs", lambda p: pytest.fail(f"combine_point loaded {p}"))
    point = {"variant": {"size": 8, "temperature": 0.6, "cluster": "plaquette"}, "temperature": 0.6,
             "paths": paths, "observables": obs}
    ds = tasks.combine_point(point)
    assert not [k for k in ds.attrs if k.startswith("error_")], ds.attrs
    _equal(ds, FourPointStructureFactor().compute(model, loaded), S4)
    _equal(ds, BlockChi4().compute(model, loaded), BLOCK)


def _peak(model, duration, path):
    tracemalloc.start()
    compose_to_file(model, path, seeds=2, duration=duration, observables=["overlap", "s4", "block-chi4"])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_s4_compose_peak_memory_does_not_grow_with_run_length(tmp_path):
    """tracemalloc peak of a compose with s4 and block-chi4 at 24x the run length. Measured
    2026-12-04: 3.7 MB -> 4.1 MB (1500 -> 36000 frames, 2 seeds); the former fallback to
    Model.run (event logs in memory) went 7.2 MB -> 27 MB over 24x and fails this test."""
    model = trsp.ModelSpec(size=8, temperature=0.6).build()
    compose_to_file(model, tmp_path / "warm.nc", seeds=1, duration=200, observables=["s4", "block-chi4"])
    short = _peak(model, 1500, tmp_path / "short.nc")
    long = _peak(model, 36000, tmp_path / "long.nc")
    with xr.open_dataset(tmp_path / "long.nc") as f:
        n_long = int(f["n_events"].sum())
    # held in memory the log alone would be 80 B x n_long (~10 MB), its per-site copies 40 B x m more
    assert long < 1.25 * short + 2e6, (short, long, n_long)
    assert 80 * n_long > 4 * (long - short)
