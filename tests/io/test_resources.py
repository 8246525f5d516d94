"""Pre-flight estimates against measured peak RSS, refusals, and batch progress lines."""
from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

import trsp_core as trsp
from trsp_core.progress import LineProgress
from trsp_core.campaigns.preflight import estimate_sweep
from trsp_core.resources import ResourceError, check_fits, estimate_compose, parse_bytes

TRSP = [sys.executable, "-c", "from trsp_core.cli import main; main()"]

#: estimate / measured peak RSS was 0.93 to 1.45 over the calibration runs (docs/performance.md):
#: the estimate is meant to be a slight over-estimate, never far off either way
LOW, HIGH = 0.8, 1.6

_MEASURE = """
import json, resource, sys, warnings
warnings.simplefilter("ignore")
import trsp_core as trsp
from trsp_core.io import write_dataset
from trsp_core.streaming import compose_to_file
size, duration, seeds, streamed, out = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5]
model = trsp.ModelSpec(size=size).build()
if streamed:
    ds = compose_to_file(model, out, seeds=seeds, duration=duration)
else:
    ds = model.run(seeds=seeds, duration=duration)
    write_dataset(ds, out)
# VmHWM, not ru_maxrss: the latter survives fork + exec, so a child of a big pytest process
# reports the parent's size (~780 MiB in a full-suite run)
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"peak": hwm * 1024,
                  "events": int(ds.n_events.sum())}))
"""


def _measure(tmp_path, size, duration, seeds, streamed):
    # a warm-up process first fills numba's on-disk cache for this path (streamed or not):
    # compiling in the measured process adds ~300 MiB of LLVM memory that no estimate of the run holds
    subprocess.run([sys.executable, "-c", _MEASURE, "6", "5.0", "1", str(int(streamed)), str(tmp_path / "warm.nc")],
                   capture_output=True, text=True, timeout=600)
    p = subprocess.run([sys.executable, "-c", _MEASURE, str(size), str(duration), str(seeds), str(int(streamed)),
                        str(tmp_path / f"m{size}_{duration}.nc")], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("size,duration,seeds,streamed", [(48, 5.0, 2, True), (24, 8000.0, 2, False)])
def test_estimate_against_measured_peak_rss(tmp_path, size, duration, seeds, streamed):
    est = estimate_compose(trsp.ModelSpec(size=size), seeds=seeds, duration=duration, streamed=streamed)
    got = _measure(tmp_path, size, duration, seeds, streamed)
    # the event count is predicted from the mean rearrangement time (within the run-to-run scatter)
    assert 0.7 < got["events"] / (est.events_per_run * seeds) < 1.4, (got, est)
    ratio = est.memory_bytes / got["peak"]
    assert LOW < ratio < HIGH, (est.memory_bytes / 2**20, got["peak"] / 2**20)


def test_refusal_names_size_and_estimate():
    est = estimate_compose(trsp.ModelSpec(size=1000), seeds=8, duration=None)
    assert est.n_sites == 10**9 and est.memory_bytes > 100 * 2**30
    with pytest.raises(ResourceError, match=r"size 1000 \(1,000,000,000 sites.*needs an estimated .*GiB"):
        check_fits(est, available=16 * 2**30)
    assert check_fits(estimate_compose(trsp.ModelSpec(size=8), seeds=2, duration=100), available=16 * 2**30)


def test_compose_size_10000_refused_in_seconds_with_one_line():
    p = subprocess.run([*TRSP, "compose", "--size", "10000", "--out", "/tmp/never-written.nc"], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    err = [ln for ln in p.stderr.splitlines() if ln.startswith("trsp: error:")]
    assert len(err) == 1 and "size 10000" in err[0] and "TiB" in err[0], p.stderr
    # the refusal is the whole output and carries the estimate itself (memory, or the file on a small disk)
    assert [ln for ln in p.stderr.splitlines() if ln.strip()] == err and "estimated" in err[0]


def test_sweep_refused_before_anything_is_written(tmp_path, monkeypatch):
    from trsp_core.campaigns.sweep import run_sweep

    monkeypatch.setenv("TRSP_MAX_MEMORY", "50M")
    with pytest.raises(ResourceError, match="trsp sweep with size 6"):
        run_sweep(variants=[{"size": 6}], temperatures=[0.6], seeds=2, out=tmp_path / "sw", show_progress=False)
    assert not (tmp_path / "sw").exists()
    est = estimate_sweep([{"size": 6}], [0.6, 0.7], seeds=2, duration=None, tau_factor=20, max_duration=2e5,
                         n_workers=2)
    assert est.n_runs == 4 and est.parts["workers"] == 2 and "2 worker(s)" in est.line()


def test_parse_bytes():
    assert parse_bytes("8G") == 8 * 2**30 and parse_bytes("512MiB") == 512 * 2**20 and parse_bytes("1000") == 1000


def test_line_progress_prints_every_interval():
    now = [0.0]
    buf = io.StringIO()
    p = LineProgress("trsp compose", every=30, stream=buf, clock=lambda: now[0])
    for t in range(1, 101):
        now[0] = t  # one second per call
        p(t, 100, events=1000 * t)
    lines = buf.getvalue().splitlines()
    assert len(lines) == 4  # t = 30, 60, 90 and the final 100 %
    assert lines[0] == "trsp compose: 30.0% done, 1,000 events/s, elapsed 30 s, ETA 1 min"
    assert lines[-1].startswith("trsp compose: 100.0% done")
    quiet = io.StringIO()
    LineProgress("x", every=0, stream=quiet)(50, 100)
    assert quiet.getvalue() == ""


def test_output_size_estimated_and_checked_against_free_disk(tmp_path, monkeypatch):
    import shutil

    est = estimate_compose(trsp.ModelSpec(size=128), seeds=2, duration=20)
    assert 850 * 2**20 < est.parts["file"] < 1000 * 2**20  # measured: 889 MiB (docs/performance.md)
    assert "output ~" in est.line()
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**12, 10**12 - 10**8, 10**8))
    with pytest.raises(ResourceError, match=r"writes an estimated .* only 95.4 MiB is free"):
        check_fits(est, available=64 * 2**30, out=tmp_path / "new" / "c.nc")


def test_model_run_refuses_what_cannot_fit(monkeypatch):
    model = trsp.ModelSpec(size=8, temperature=0.6).build()
    monkeypatch.setenv("TRSP_MAX_MEMORY", "64M")
    with pytest.raises(ResourceError, match=r"Model.run with size 8 \(512 sites"):
        model.run(seeds=2, duration=100)


# a C(r) positive definite on 7^3 sites but not on the 6^3 copy the estimate probes
# (positive definiteness depends on L; found by a search over tabulated shells)
_C_PD_AT_7_NOT_6 = '{"kind": "tabulated", "r": [0.0, 1.1, 2.2, 3.3, 4.4], "value": [1.0, 0.27, 0.06, 0.11, -0.04]}'


def test_estimate_does_not_refuse_a_form_valid_at_the_requested_size():
    from trsp_core.errors import ParameterError
    from trsp_core.physics import gaussian

    spec = trsp.ModelSpec.from_options(size=7, params={"C_profile": _C_PD_AT_7_NOT_6})
    p = spec.resolved_params()
    from trsp_core.plugin.registry import default_registry

    lattice = lambda n: default_registry().get("lattice", "cubic")(n, p.a)  # noqa: E731
    assert gaussian.spectrum(lattice(6), p.correlation).min() < 0 < gaussian.spectrum(lattice(7), p.correlation).min()
    est = estimate_compose(spec, seeds=2, duration=100.0)
    assert est.n_sites == 7 ** 3
    # and where it is refused, the error names the requested lattice, not the probe's
    bad = '{"kind": "tabulated", "r": [0.0, 1.1, 1.556, 1.905, 2.2, 2.46], "value": [1.0, 1.05, 0.73, 0.55, 0.45, 0.35]}'
    with pytest.raises(ParameterError, match=r"lattice \(8, 8, 8\)\) is not positive definite"):
        estimate_compose(spec.evolve(size=8, params={"C_profile": bad}), seeds=2, duration=100.0)


def test_four_point_work_is_in_the_time_estimate():
    """S4 / block chi4 cost ~7e-7 s per site, block side and run (30 s against 5 s without
    them at L = 64, 2 seeds; 146 s before the block sums ran without FFTs): the estimate must
    include it."""
    from trsp_core.resources import fourpoint_seconds

    spec = trsp.ModelSpec(size=64)
    plain = estimate_compose(spec, seeds=2, duration=20)
    four = estimate_compose(spec, seeds=2, duration=20, fourpoint=True)
    assert four.time_s - plain.time_s == pytest.approx(fourpoint_seconds(64**3, 2, 64)) and four.time_s > 20
    kw = dict(seeds=2, duration=20.0, tau_factor=10, max_duration=1e5, n_workers=1)
    over = estimate_sweep([{"size": 32}], [0.6], observables=["overlap"], **kw)
    default = estimate_sweep([{"size": 32}], [0.6], observables=None, **kw)
    assert default.time_s - over.time_s == pytest.approx(fourpoint_seconds(over.n_sites, 2, 32))
