"""Aging after a quench: <S(t)> relaxes from mu(T_I) towards mu(T_F); resumable; Fig. 8 written."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from trsp_core.campaigns.aging import run_aging, time_grid


def test_time_grid_is_logarithmic():
    t = time_grid(1000.0, 31)
    assert t[-1] == pytest.approx(1000.0) and t[0] == pytest.approx(1e-2)
    r = t[1:] / t[:-1]
    assert np.allclose(r, r[0])


def test_aging_quench_relaxes_towards_final_equilibrium(tmp_path):
    from distributed import Client

    from trsp_core.spec import compose
    from trsp_core.physics.timescales import mean_rate_time

    # ~22 mean rearrangement times at T_F: long enough to be well on the way down,
    # in the model's own time unit (independent of e0 / Sigma0)
    duration = 22.0 * mean_rate_time(compose(size=4, temperature=0.5))
    with Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0") as client:
        kw = dict(initial_temperature=0.7, final_temperatures=[0.5], seeds=6, seed=3, size=4, backend="reference",
                  duration=duration, n_times=12, out=tmp_path, client=client, show_progress=False)
        s = run_aging(**kw)
        assert s["runs_computed"] == 12 and s["runs_failed"] == 0
        again = run_aging(**kw)
        assert again["runs_computed"] == 0 and again["runs_cached"] == 12
    ds = xr.open_dataset(tmp_path / "aging.nc")
    assert list(ds["model"].values) == ["TRSP", "trap"]
    # CF: long names everywhere, units on every number, history and the paper
    missing = [v for v in list(ds.data_vars) + list(ds.coords)
               if "long_name" not in ds[v].attrs or (ds[v].dtype.kind in "fiu" and "units" not in ds[v].attrs)]
    assert missing == [] and "trsp" in ds.attrs["history"] and "arXiv:2406.05868" in ds.attrs["references"]
    mu_i, mu_f = 1.2 - 1.0 / 0.7, 1.2 - 1.0 / 0.5
    for m in ("TRSP", "trap"):
        d = ds.sel(model=m, final_temperature=0.5)
        assert int(d["n_seeds"]) == 6
        assert float(d["S_initial"]) == pytest.approx(mu_i, abs=0.25)      # drawn at T_I
        assert float(d["S_equilibrium"]) == pytest.approx(mu_f)
        S = d["S_mean"].values
        # early: still near the initial state; late: well on the way down to mu(T_F)
        assert abs(S[0] - mu_i) < 0.25
        assert S[-1] < S[0] - 0.2
        assert S[-1] > mu_f - 0.25
    assert (tmp_path / "fig8_aging.png").stat().st_size < 200_000


def test_age_params_file_reaches_the_trsp_model_only(tmp_path, capsys, monkeypatch):
    """`trsp age --params`: the TRSP model's mu(T) comes from the file (its equilibrium <S> at
    T_F is the file's mu_a + mu_b / T_F), the trap model keeps its own parameters."""
    import attrs

    from tests.cli.test_bad_inputs import run_cli
    from trsp_core.physics.params import write_params_toml
    from trsp_core.spec import ModelSpec

    base = ModelSpec().resolved_params()
    shifted = attrs.evolve(base, mu_a=base.mu_a + 0.25)
    write_params_toml(shifted, tmp_path / "p.toml")
    args = ["age", "--final-temperatures", "0.6", "--seeds", "2", "--size", "4", "--duration", "20",
            "--workers", "1", "--json"]
    code, out, err = run_cli(capsys, monkeypatch, *args, "--params", tmp_path / "p.toml", "--out", tmp_path / "a")
    assert code == 0, err
    code, out, err = run_cli(capsys, monkeypatch, *args, "--out", tmp_path / "b")
    assert code == 0, err
    with xr.open_dataset(tmp_path / "a" / "aging.nc") as a, xr.open_dataset(tmp_path / "b" / "aging.nc") as b:
        eq_a, eq_b = a["S_equilibrium"].sel(final_temperature=0.6), b["S_equilibrium"].sel(final_temperature=0.6)
        assert float(eq_a.sel(model="TRSP")) == pytest.approx(shifted.mu_a + shifted.mu_b / 0.6, rel=1e-12)
        assert float(eq_a.sel(model="TRSP") - eq_b.sel(model="TRSP")) == pytest.approx(0.25, rel=1e-12)
        assert float(eq_a.sel(model="trap")) == float(eq_b.sel(model="trap"))
