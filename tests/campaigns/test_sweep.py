"""Sweep: run identity, crash/resume safety on a real LocalCluster, CLI plumbing."""
from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from trsp_core.campaigns.sweep import run_sweep
from trsp_core.physics.timescales import auto_run_length
from trsp_core.campaigns.spec import normalise_variant, run_key, split_list, variant_product

VARIANTS = [{"size": 4, "cluster": "plaquette"}, {"size": 4, "cluster": "single"}]
TEMPS = [0.55, 0.7]
SEEDS = 3
COMMON = dict(variants=VARIANTS, temperatures=TEMPS, seeds=SEEDS, seed=11, backend="reference",
              tau_factor=40.0, observables=["overlap"], show_progress=False)
COMPARE = ["tau_alpha", "tau_alpha_err", "chi4_star", "chi4_star_err", "Q", "chi4", "lag", "n_seeds"]


def _die_soon():
    """Run inside a worker: exit the process abruptly (no cleanup) a moment after replying."""
    threading.Timer(0.05, os._exit, args=(1,)).start()
    return os.getpid()


def _mtimes(out: Path) -> dict:
    return {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.nc")}


def test_run_key_identity():
    v = normalise_variant({"size": 4})
    k = run_key(v, 0.5, 3, 100.0, "reference")
    assert k == run_key(normalise_variant({"size": 4}), 0.5, 3, 100.0, "reference")
    # every input that changes the result changes the name
    assert k != run_key(v, 0.5, 4, 100.0, "reference")
    assert k != run_key(v, 0.51, 3, 100.0, "reference")
    assert k != run_key(v, 0.5, 3, 101.0, "reference")
    assert k != run_key(v, 0.5, 3, 100.0, "fast")
    assert k != run_key(normalise_variant({"size": 4, "facilitation": 0.6}), 0.5, 3, 100.0, "reference")
    # the resolved parameters are part of the identity: changed package defaults (same
    # variant, no parameter file, explicit duration) must not reuse old runs
    from trsp_core.physics.params import DescriptorParams

    p = DescriptorParams()
    kp = run_key(v, 0.5, 3, 100.0, "reference", params=p)
    assert kp == run_key(v, 0.5, 3, 100.0, "reference", params=DescriptorParams())
    assert kp != run_key(v, 0.5, 3, 100.0, "reference", params=DescriptorParams(e0=p.e0 + 0.1))


def test_variant_product_and_lists():
    vs = variant_product(facilitation=split_list("1,0.6,0.2", float), cluster=split_list("plaquette,single"))
    assert len(vs) == 6
    assert {(v["facilitation"], v["cluster"]) for v in vs} == {(c, m) for c in (1.0, 0.6, 0.2) for m in ("plaquette", "single")}
    with pytest.raises(ValueError):
        normalise_variant({"colour": "red"})


def test_auto_run_length_grows_on_cooling_and_is_capped():
    from trsp_core.spec import compose

    lengths = [auto_run_length(compose(size=4, temperature=T)) for T in (0.7, 0.55, 0.45)]
    assert lengths[0] < lengths[1] < lengths[2]
    assert lengths[2] / lengths[0] > 20
    assert auto_run_length(compose(size=4, temperature=0.42), cap=500.0) == 500.0


def _assert_self_describing(path):
    """CF: every variable and coordinate has a long_name, every numeric one units; lag is a
    coordinate; the file names its history and the paper it implements."""
    import xarray as xr

    with xr.open_dataset(path) as ds:
        missing = [v for v in list(ds.data_vars) + list(ds.coords)
                   if "long_name" not in ds[v].attrs or (ds[v].dtype.kind in "fiu" and "units" not in ds[v].attrs)]
        assert missing == []
        assert "lag" in ds.coords
        assert ds.attrs["Conventions"].startswith("CF-") and "trsp" in ds.attrs["history"]
        assert "arXiv:2406.05868" in ds.attrs["references"]


def test_kill_worker_resume_equals_uninterrupted(tmp_path):
    """Kill a worker mid-run, re-run: complete, nothing finished recomputed, same numbers."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster) as client:
        # uninterrupted reference sweep
        ref = run_sweep(out=tmp_path / "ref", client=client, **COMMON)
        assert ref["runs_computed"] == len(VARIANTS) * len(TEMPS) * SEEDS and ref["complete"]
        _assert_self_describing(tmp_path / "ref" / "sweep.nc")

        out = tmp_path / "crash"
        killed = {}

        def killer(cl):
            def go():
                t_end = time.time() + 60
                while time.time() < t_end and not killed:
                    done = list((out / "runs").glob("*.nc"))
                    busy = [w for w, ks in cl.processing().items() if any(k.startswith("trsp-run-") for k in ks)]
                    if done and busy:
                        before = _mtimes(out)
                        pid = cl.run(_die_soon, workers=[busy[0]])[busy[0]]   # hard kill, mid-task
                        killed.update(before=before, worker=busy[0], pid=pid)
                        return
                    time.sleep(0.02)
            threading.Thread(target=go, daemon=True).start()

        first = run_sweep(out=out, client=client, on_client=killer, **COMMON)
        assert killed, "the test never killed a worker"
        with pytest.raises(ProcessLookupError):      # the worker process is really gone
            os.kill(killed["pid"], 0)
        assert killed["worker"] not in client.scheduler_info()["workers"]
        after_first = _mtimes(out)
        # files finished before the kill were not rewritten when the scheduler recovered
        for name, mt in killed["before"].items():
            assert after_first[name] == mt
        assert first["runs_failed"] == 0 or not first["complete"]

        # a half-written file under a final name must not be taken as finished
        victim = sorted((out / "runs").glob("*.nc"))[0]
        victim_name = victim.name
        victim.write_bytes(b"CDF\x01 truncated")
        # a stale temporary from the killed worker is harmless
        (out / "runs" / ".deadbeef.nc.xyz.part").write_bytes(b"junk")

        again = run_sweep(out=out, client=client, **COMMON)
        assert again["complete"]
        assert again["runs_computed"] == 1              # only the corrupted one
        after_second = _mtimes(out)
        for name, mt in after_first.items():
            if name != victim_name:
                assert after_second[name] == mt, f"finished run {name} was recomputed"

        third = run_sweep(out=out, client=client, **COMMON)
        assert third["runs_computed"] == 0 and third["runs_cached"] == len(after_second)
        assert _mtimes(out) == after_second

    a = xr.open_dataset(tmp_path / "ref" / "sweep.nc").load()
    b = xr.open_dataset(out / "sweep.nc").load()
    assert int(b["n_seeds"].min()) == SEEDS
    assert np.isfinite(b["tau_alpha"]).all() and np.isfinite(b["chi4_star"]).all()
    for name in COMPARE:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    # physics sanity on the tiny lattice: slower at lower T, plaquette chi4* above single-site
    assert (b["tau_alpha"].sel(temperature=0.55) > b["tau_alpha"].sel(temperature=0.7)).all()
    assert float(b["chi4_star"].isel(variant=0).mean()) > float(b["chi4_star"].isel(variant=1).mean())


def test_invalid_variant_refused_before_submission(tmp_path):
    from trsp_core.errors import ParameterError

    with pytest.raises(ParameterError, match=r"c=50 .*infeasible K_Delta.*T=0.7"):
        run_sweep(variants=[{"size": 4}, {"size": 4, "facilitation": 50.0}], temperatures=[0.7], seeds=1,
                  backend="reference", observables=["overlap"], out=tmp_path / "sw", show_progress=False)
    assert not (tmp_path / "sw" / "runs").exists()


def test_failure_reported_and_others_finish(tmp_path, monkeypatch):
    """A run that fails on a worker fails alone; the valid variant's runs still finish and combine.

    The client refuses an infeasible variant before submission (test above); here that check is
    bypassed so that the worker-side failure path (what a crash in a run looks like) is exercised."""
    from distributed import Client, LocalCluster

    import trsp_core.campaigns.sweep as sweep_mod

    monkeypatch.setattr(sweep_mod, "check_models", lambda *a, **k: None)
    bad = {"size": 4, "facilitation": 50.0}   # kick larger than the conditioned variance -> error
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster) as client:
        s = run_sweep(variants=[{"size": 4}, bad], temperatures=[0.7], seeds=2, seed=0, backend="reference",
                      tau_factor=10.0, observables=["overlap"], out=tmp_path, client=client, show_progress=False)
    assert s["runs_failed"] == 2 and s["runs_computed"] == 2 and not s["complete"]
    import json

    fails = json.loads((tmp_path / "failures.json").read_text())
    assert len(fails) == 2 and all(f["variant"]["facilitation"] == 50.0 for f in fails)
    ds = xr.open_dataset(tmp_path / "sweep.nc")
    assert list(ds["n_seeds"].values[:, 0]) == [2, 0]


def test_cli_sweep_resume_and_plot(tmp_path):
    """The typer commands end to end: sweep, re-run (all cached), plot."""
    import json

    import typer
    from typer.testing import CliRunner

    from trsp_core.cli.campaigns import plot, sweep

    app = typer.Typer()
    app.command("sweep")(sweep)
    app.command("plot")(plot)
    args = ["sweep", "--temperatures", "0.6,0.7", "--seeds", "2", "--size", "4", "--facilitation", "1,0.6",
            "--backend", "reference", "--tau-factor", "10", "--observables", "overlap", "--workers", "2",
            "--out", str(tmp_path / "s"), "--json"]
    r1 = CliRunner().invoke(app, args)
    assert r1.exit_code == 0, r1.output
    s1 = json.loads(r1.stdout.strip().splitlines()[-1])
    assert s1["runs_computed"] == 8 and s1["complete"]
    r2 = CliRunner().invoke(app, args)
    s2 = json.loads(r2.stdout.strip().splitlines()[-1])
    assert s2["runs_computed"] == 0 and s2["runs_cached"] == 8
    # the human summary: wall time in s and a table per point, with the numbers of sweep.nc
    r4 = CliRunner().invoke(app, args[:-1])
    assert r4.exit_code == 0, r4.output
    lines = r4.stdout.splitlines()
    assert any(ln.split(":")[0].strip() == "wall" and ln.rstrip().endswith(" s") for ln in lines), r4.stdout
    head = next(i for i, ln in enumerate(lines) if "tau_alpha [frames]" in ln)
    rows = lines[head + 1:head + 5]
    with xr.open_dataset(tmp_path / "s" / "sweep.nc") as ds:
        tau = ds["tau_alpha"].isel(variant=0).sel(temperature=0.6).item()
    assert len(rows) == 4 and all(" ± " in r or "not measured" in r for r in rows), r4.stdout
    m = re.search(r"\s0\.6\s+([\d.]+) ± ([\d.]+)", rows[0])
    assert m and abs(float(m[1]) - tau) <= 0.06 * float(m[2]), (tau, rows[0])   # rounded to 2 digits of the error
    r3 = CliRunner().invoke(app, ["plot", str(tmp_path / "s"), "--out", str(tmp_path / "fig")])
    assert r3.exit_code == 0, r3.output
    names = {p.name for p in (tmp_path / "fig").glob("*.png")}
    assert {"fig5_tau_chi4_xi4_vs_T.png", "fig7_facilitation.png", "fig13_chi4_collapse.png"} <= names
    assert all(p.stat().st_size < 200_000 for p in (tmp_path / "fig").glob("*.png"))


@pytest.mark.parametrize("kw,needle", [
    ({"fields": ("kicks",)}, "sweep fields must include 'events'"),
    ({"fields": ("events", "snapshots")}, "sweep fields must include 'events' and be among"),
    ({"observables": ["detailed-balance"]}, "observable 'detailed-balance' needs run field(s) kicks"),
])
def test_fields_and_observables_checked_before_anything_is_written(tmp_path, kw, needle):
    from trsp_core.errors import TRSPError

    with pytest.raises(TRSPError) as exc:
        run_sweep(variants=[{"size": 4}], temperatures=[0.6], seeds=1, out=tmp_path / "s", **kw)
    assert needle in str(exc.value)
    assert not (tmp_path / "s").exists()

