"""Figures from a synthetic sweep dataset: every figure is produced, labelled, small."""
from __future__ import annotations

import numpy as np
import xarray as xr

from trsp_core.plotting.figures import load_results, plot_sweep


def _fake_sweep(path):
    temps = np.array([0.45, 0.55, 0.7])
    variants = [("plaquette", 1.0), ("plaquette", 0.6), ("single", 1.0)]
    nv, nt, nl = len(variants), len(temps), 20
    lag = np.tile(np.geomspace(0.1, 1e4, nl), (nv, nt, 1))
    tau = np.array([[3000.0, 300.0, 30.0]] * nv)
    chi_star = np.array([[3.0, 2.0, 1.0], [3.5, 2.2, 1.1], [0.8, 0.5, 0.3]])
    x = np.log(lag / tau[..., None])
    chi4 = chi_star[..., None] * np.exp(-x ** 2 / 4)
    Q = np.exp(-lag / tau[..., None])
    ds = xr.Dataset(
        {
            "Q": (("variant", "temperature", "lag_index"), Q), "chi4": (("variant", "temperature", "lag_index"), chi4),
            "lag": (("variant", "temperature", "lag_index"), lag),
            "tau_alpha": (("variant", "temperature"), tau), "tau_alpha_err": (("variant", "temperature"), 0.1 * tau),
            "chi4_star": (("variant", "temperature"), chi_star), "chi4_star_err": (("variant", "temperature"), 0.1 * chi_star),
            "xi4": (("variant", "temperature"), np.array([[2.0, 1.5, 1.0]] * nv)),
            "xi4_err": (("variant", "temperature"), np.full((nv, nt), 0.1)),
            "n_seeds": (("variant", "temperature"), np.full((nv, nt), 4)),
        },
        coords={"variant": np.arange(nv), "temperature": temps,
                "variant_label": ("variant", [f"{c} c={f:g} L=8" for c, f in variants]),
                "cluster": ("variant", [c for c, _ in variants]), "facilitation": ("variant", [f for _, f in variants]),
                "size": ("variant", [8] * nv), "descriptor": ("variant", ["softness-kalj"] * nv),
                "lattice": ("variant", ["cubic"] * nv), "delta_rule": ("variant", ["nearest"] * nv),
                "rate": ("variant", ["arrhenius"] * nv)},
        attrs={"T0": 0.74},
    )
    ds.to_netcdf(path)
    return ds


def test_plot_sweep_writes_all_figures(tmp_path):
    _fake_sweep(tmp_path / "sweep.nc")
    files = plot_sweep(tmp_path / "sweep.nc", tmp_path / "fig")
    names = {f.name for f in files}
    expected = {"fig5_tau_chi4_xi4_vs_T.png", "fig6_xi4_vs_inverse_T.png", "fig7_facilitation.png",
                "fig12_m1_vs_m4.png", "fig13_chi4_collapse.png", "fig14_Q_collapse.png", "fig16_chi4_vs_tau.png"}
    assert expected <= names
    assert sum(n.startswith("fig4_") for n in names) == 3
    for f in files:
        assert 5_000 < f.stat().st_size < 200_000


def test_plot_without_xi4_skips_fig6(tmp_path):
    ds = _fake_sweep(tmp_path / "a.nc")
    ds["xi4"][:] = np.nan
    ds.to_netcdf(tmp_path / "b.nc")
    names = {f.name for f in plot_sweep(tmp_path / "b.nc", tmp_path / "fig")}
    assert "fig6_xi4_vs_inverse_T.png" not in names and "fig5_tau_chi4_xi4_vs_T.png" in names


def test_load_results_concatenates_variants(tmp_path):
    _fake_sweep(tmp_path / "a.nc")
    _fake_sweep(tmp_path / "b.nc")
    ds = load_results([tmp_path / "a.nc", tmp_path / "b.nc"])
    assert ds.sizes["variant"] == 6
    assert list(ds["variant"].values) == list(range(6))


def test_plot_accepts_a_compose_and_an_aging_file(tmp_path):
    """`trsp plot` draws a compose file's Q/chi4 (with bands) and an aging file's <S(t)>,
    beside sweeps; a file that is none of these still gets a one-line error."""
    import subprocess
    import sys

    import trsp_core as trsp
    from trsp_core.io import write_dataset

    ds = trsp.compose(size=5, temperature=0.6).run(seeds=2, duration=800.0)
    write_dataset(ds, tmp_path / "c.nc")
    aging = xr.Dataset(
        {"S_mean": (("model", "final_temperature", "time_index"), np.zeros((1, 1, 3))),
         "S_err": (("model", "final_temperature", "time_index"), np.full((1, 1, 3), 0.1)),
         "time": (("model", "final_temperature", "time_index"), np.array([[[1.0, 10.0, 100.0]]])),
         "S_equilibrium": (("model", "final_temperature"), [[0.0]]),
         "n_seeds": (("model", "final_temperature"), [[2]])},
        coords={"model": ["TRSP"], "final_temperature": [0.5]}, attrs={"initial_temperature": 0.7})
    aging.to_netcdf(tmp_path / "aging.nc")
    cmd = [sys.executable, "-c", "from trsp_core.cli import main; main()", "plot"]
    p = subprocess.run([*cmd, str(tmp_path / "c.nc"), str(tmp_path / "aging.nc"), "--out", str(tmp_path / "f")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "f" / "fig4_overlap_chi4_c.png").stat().st_size > 0
    assert (tmp_path / "f" / "fig8_aging.png").stat().st_size > 0
    (tmp_path / "other.nc").write_bytes(b"")
    p = subprocess.run([*cmd, str(tmp_path / "other.nc"), "--out", str(tmp_path / "g")], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode != 0 and "Traceback" not in p.stderr and "other.nc" in p.stderr
