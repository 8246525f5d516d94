"""Event logs streamed to disk: same file as the in-memory path, memory independent of run length."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import xarray as xr

import trsp_core as trsp
from trsp_core.errors import ParameterError
from trsp_core.io import write_dataset
from trsp_core.observables.overlap import default_lags, overlap_samples
from trsp_core.streaming import OverlapAccumulator, compose_to_file, overlap_plan, streamable

VOLATILE = {"created", "history", "wall_s", "kernel_loop_s", "kernel_build_s", "kernel_events_per_s", "command_line"}


def _same_file(a_path, b_path):
    with xr.open_dataset(a_path) as a, xr.open_dataset(b_path) as b:
        assert set(a.variables) == set(b.variables)
        for k in a.variables:
            if k == "wall_s":
                continue
            assert a[k].dims == b[k].dims, k
            assert a[k].dtype == b[k].dtype, k
            np.testing.assert_array_equal(a[k].values, b[k].values, err_msg=k)
            assert a[k].attrs == b[k].attrs, k
        assert set(a.attrs) == set(b.attrs)
        for k in set(a.attrs) - VOLATILE:
            np.testing.assert_array_equal(np.asarray(a.attrs[k]), np.asarray(b.attrs[k]), err_msg=k)
        return int(a["n_events"].sum())


MIX = "single:0.3+plaquette:0.7"


@pytest.mark.parametrize("backend,size,cluster", [("fast", 8, "plaquette"), ("reference", 4, "plaquette"),
                                                  ("fast", 8, MIX)])
def test_streamed_file_equals_in_memory_file(tmp_path, backend, size, cluster):
    # a mixture's file also carries event_channel: streamed and in-memory files must agree on it too
    model = trsp.ModelSpec(size=size, temperature=0.6, cluster=cluster).build()
    ds = model.run(seeds=3, seed=4, duration=300, backend=backend)
    write_dataset(ds, tmp_path / "mem.nc")
    small = compose_to_file(model, tmp_path / "stream.nc", seeds=3, seed=4, duration=300, backend=backend)
    assert _same_file(tmp_path / "mem.nc", tmp_path / "stream.nc") > 100
    assert "event_time" not in small and float(small.tau_alpha) == float(ds.tau_alpha)
    assert trsp.summary(small) == {**trsp.summary(ds), "wall_s": trsp.summary(small)["wall_s"]}
    runs = trsp.open_run(tmp_path / "stream.nc").runs
    assert [r.n_events for r in runs] == list(ds.n_events.values)
    with xr.open_dataset(tmp_path / "stream.nc") as f:
        assert f["event_time"].encoding["zlib"] and f["event_time"].encoding["chunksizes"]


def test_fast_sink_chunks_are_the_event_log():
    model = trsp.ModelSpec(size=8, temperature=0.6).build()
    full = model.simulate(600, 3, backend="fast", refresh_every=97)
    parts = []
    run = model.simulate(600, 3, backend="fast", refresh_every=97,
                         sink=lambda *chunk: parts.append([np.array(x) for x in chunk]))
    assert len(parts) > 1 and run.times is None and run.s_before is None
    assert "events" not in run.fields and run.n_events == full.n_events
    for k, name in enumerate(("times", "clusters", "s_before", "s_after")):
        np.testing.assert_array_equal(np.concatenate([p[k] for p in parts]), getattr(full, name))
    np.testing.assert_array_equal(run.s_final, full.s_final)
    with pytest.raises(ParameterError, match="sink cannot be combined with a checkpoint"):
        model.simulate(100, 3, backend="fast", sink=lambda *c: None, checkpoint="x.npz")


def test_overlap_accumulator_equals_overlap_samples():
    model = trsp.ModelSpec(size=6, temperature=0.6, cluster="plaquette").build()
    run = model.simulate(500, 1, backend="fast")
    from trsp_core.observables.overlap import Overlap

    for lags in (default_lags(run.t_end), np.array([0.5, 3.0, 40.0, 249.0])):
        obs = Overlap(lags=lags, n_origins=17)
        lags_, origins = overlap_plan(obs, run.t_end)
        acc = OverlapAccumulator(model.cluster_sites, model.n_sites, origins, lags_)
        for a in range(0, run.n_events, 37):  # arbitrary chunks
            acc.add(run.times[a:a + 37], run.clusters[a:a + 37])
        want = overlap_samples([run], model.cluster_sites, model.n_sites, lags_, 17)[0]
        np.testing.assert_array_equal(acc.result(), want)


def test_streamable_only_without_event_reading_observables():
    from trsp_core.observables import resolve

    assert streamable(resolve(["overlap", "statics"]))
    assert streamable(resolve(["overlap", "s4", "block-chi4"]))  # accumulated from chunks as well
    assert not streamable(resolve(["overlap", "detailed-balance"]))


def _peak_bytes(model, duration, tmp_path):
    tracemalloc.start()
    compose_to_file(model, tmp_path / f"d{duration}.nc", seeds=2, duration=duration)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_streamed_peak_memory_does_not_grow_with_run_length(tmp_path):
    model = trsp.ModelSpec(size=8, temperature=0.6).build()
    compose_to_file(model, tmp_path / "warm.nc", seeds=1, duration=50)  # compile, build tables
    short = _peak_bytes(model, 2000, tmp_path)
    long = _peak_bytes(model, 16000, tmp_path)  # 8x the events (~50 000 per seed)
    with xr.open_dataset(tmp_path / "d16000.nc") as f:
        n_long = int(f["n_events"].sum())
    # in memory the log alone would be 80 B x n_long (~8 MB); streamed, the peak stays put
    assert long < 1.25 * short + 2e6, (short, long, n_long)
    assert 80 * n_long > 2 * (long - short)


@pytest.mark.parametrize("fields,cluster", [(("events",), "plaquette"),
                                            (("events", "kicks", "endpoints", "occupancy", "time_integral"), "plaquette"),
                                            (("events", "kicks"), MIX)])
def test_sweep_run_file_streamed_equals_in_memory(tmp_path, fields, cluster):
    from trsp_core.run import encoding_of, run_file
    from trsp_core.streaming import simulate_to_file

    model = trsp.ModelSpec(size=6, temperature=0.6, cluster=cluster).build()
    extra = {"trsp_run_complete": 1, "seed": 5}
    run = model.simulate(800, 5, backend="fast", n_snapshots=0)
    ds = run_file([run], model, fields, geometry=False, extra=extra)
    write_dataset(ds, tmp_path / "mem.nc", encoding=encoding_of(ds))
    light = simulate_to_file(model, tmp_path / "stream.nc", 800, 5, fields=fields, extra=extra, backend="fast",
                             n_snapshots=0)
    assert light.times is None and light.n_events == run.n_events > 100
    assert _same_file(tmp_path / "mem.nc", tmp_path / "stream.nc") == run.n_events


_WRITER_RSS = """
import resource, sys
import numpy as np
from pathlib import Path
from trsp_core.streaming import _RunFileWriter
w = _RunFileWriter(Path(sys.argv[1]), 1, 4)
rng = np.random.default_rng(0)
t, c, b = np.sort(rng.random(65536)), rng.integers(0, 10**6, 65536), rng.random((65536, 4))
w.events(0, t, c, b, b)
r0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for k in range(1, int(sys.argv[2])):
    w.events(0, t + k, c, b, b)
w.close()
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - r0) * 1024)
"""


def test_streamed_event_log_resident_memory_bounded(tmp_path):
    """Peak RSS (which sees HDF5's chunk cache, unlike tracemalloc) while 4.6e6 events
    (370 MB of log) are appended: a few MB, not 80 B per event."""
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-c", _WRITER_RSS, str(tmp_path / "w.nc"), "70"], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert int(p.stdout.split()[-1]) < 40e6


def test_overlap_from_files_equals_loaded_runs(tmp_path):
    from trsp_core.campaigns.tasks import load_runs
    from trsp_core.observables.overlap import Overlap
    from trsp_core.streaming import iter_event_chunks, overlap_from_files, simulate_to_file

    model = trsp.ModelSpec(size=6, temperature=0.6).build()
    paths = []
    for s in (7, 3, 5):  # not in seed order on purpose
        paths.append(tmp_path / f"r{s}.nc")
        simulate_to_file(model, paths[-1], 700 + s, s, fields=("events",), extra={"trsp_run_complete": 1},
                         backend="fast", n_snapshots=0)
    assert sum(len(c[1]) for c in iter_event_chunks(paths[0], chunk=50)) == load_runs(paths[0])[0].n_events
    want = Overlap().compute(model, [r for p in paths for r in load_runs(p)])
    got = overlap_from_files(Overlap(), model, paths)
    xr.testing.assert_identical(got, want)
