"""`trsp descriptors assess` on the committed KA fixture (one temperature: structure only) and,
on the fixture split into two pseudo-temperatures, the measure -> compose -> compare chain."""
import numpy as np
import pytest
import xarray as xr
from scipy import stats
from typer.testing import CliRunner

from trsp_core.cli.descriptors import app, structural_statistics
from trsp_core.md.mdio import Trajectory, read_netcdf, read_trajectory, write_netcdf

FIXTURE = "tests/fixtures/ka/ka_T055.npz"


@pytest.fixture(scope="module")
def ka():
    return read_trajectory(FIXTURE)


def test_statistics_on_known_data():
    """Gaussian S with P(R|S) = exp(-4 + 0.5 S): skew ~ 0, kurtosis ~ 0, gamma ~ 0.5; Arrhenius with 2 T."""
    rng = np.random.default_rng(0)
    vals, flags = {}, {}
    for T in (0.5, 1.0):
        s = rng.normal(size=400_000)
        vals[T] = s
        flags[T] = rng.random(s.size) < np.exp(1.0 - 2.5 / T + 0.5 * s)  # DeltaE = 2.5, Sigma = 1 + 0.5 S
    st = structural_statistics(vals, flags, n_bins=8, blocks={T: np.arange(400_000) // 80_000 for T in vals})
    assert np.all((st["roc_auc_err"] > 0) & (st["roc_auc_err"] < 0.01))
    assert np.all(np.abs(st["skewness"]) < 0.02) and np.all(np.abs(st["excess_kurtosis"]) < 0.05)
    assert np.allclose(st["gamma"], 0.5, atol=0.05) and np.all(st["roc_auc"] > 0.6)
    assert np.allclose(st["delta_e"], 2.5, atol=0.15) and st["delta_e_range"] < 0.4
    assert np.nanmax(st["sigma"]) - np.nanmin(st["sigma"]) > 1.5  # Sigma(S) = 1 + 0.5 S over the bins


def test_assess_fixture_structure_only(tmp_path, ka):
    src = write_netcdf(Trajectory(positions=ka.positions[:80], types=ka.types, box=ka.box, dt=ka.dt,
                                  temperature=ka.temperature), tmp_path / "ka.nc")
    out = tmp_path / "assess"
    res = CliRunner().invoke(app, ["assess", str(src), "--out", str(out), "--descriptor", "q6",
                                   "--descriptor", "fivefold", "--bins", "5"])
    assert res.exit_code == 0, res.output
    assert "skipped: needs >= 2 temperatures" in res.output
    with xr.open_dataset(out / "assess.nc") as ds:
        assert list(ds.descriptor.values) == ["q6", "fivefold"] and ds.sizes["s_bin"] == 5
        # the table's numbers are those of the values written for each descriptor
        vals = read_netcdf(out / "fivefold" / "values" / "ka.fivefold.nc")
        a = vals.types == 0
        ok = np.all(np.isfinite(vals.columns["phop"]), axis=1)
        s = vals.columns["descriptor"][ok][:, a].ravel()
        assert float(ds.skewness.sel(descriptor="fivefold")[0]) == pytest.approx(stats.skew(s))
        assert float(ds.excess_kurtosis.sel(descriptor="fivefold")[0]) == pytest.approx(stats.kurtosis(s))
        assert int(ds["count"].sel(descriptor="fivefold").sum()) == s.size
        assert set(ds.attrs["ranking"].split(" > ")) == {"q6", "fivefold"}
        assert np.all(np.isfinite(ds.roc_auc_err.values)) and np.all(ds.roc_auc_err.values > 0)
        assert str(ds.chain_status.values[0]).startswith("skipped")
    md = (out / "assess.md").read_text()
    assert "| fivefold | -1 |" in md and "Ranking (ROC AUC" in md and (out / "fig_assess.png").is_file()


@pytest.mark.slow  # ~50 s: measure, two composed models and the MD dynamics
def test_assess_chain_on_two_pseudo_temperatures(tmp_path, ka):
    """Two halves of the fixture labelled 0.55 and 0.60: not physics, but every step of
    measure -> compose -> compare runs and its numbers reach assess.nc."""
    files = []
    for i, (frames, T) in enumerate(((slice(0, 125), 0.55), (slice(125, 250), 0.60))):
        files.append(str(write_netcdf(Trajectory(positions=ka.positions[frames], types=ka.types, box=ka.box,
                                                 dt=ka.dt, temperature=T), tmp_path / f"half{i}.nc")))
    out = tmp_path / "assess"
    res = CliRunner().invoke(app, ["assess", *files, "--out", str(out), "--descriptor", "voronoi-volume",
                                   "--size", "6", "--seeds", "1", "--duration", "400", "--fix", "C1=0.3",
                                   "--fix", "xi=0.8", "--no-figures"])
    assert res.exit_code == 0, res.output
    with xr.open_dataset(out / "assess.nc") as ds:
        assert str(ds.chain_status.values[0]) == "ok", str(ds.chain_status.values[0])
        assert np.isfinite(float(ds.T0[0])) and float(ds.xi[0]) == pytest.approx(0.8)
        assert np.isfinite(float(ds.delta_e_range[0]))
    assert (out / "voronoi-volume" / "measure" / "params.toml").is_file()
    with xr.open_dataset(out / "voronoi-volume" / "compare" / "compare.nc") as cmp:
        assert "md:phop" in [str(s) for s in cmp.source.values] and cmp.sizes["temperature"] == 2
    assert ds.attrs["ranking"] == "voronoi-volume" and "rms ln(model/MD)" in ds.attrs["ranking_basis"]


def test_rms_log_ratio_and_its_error():
    """rms of ln(model/MD) and the first-order error propagated from both sides' errors."""
    import numpy as np

    from trsp_core.cli.descriptors import rms_log_ratio

    m, d = np.array([2.0, 3.0, np.nan]), np.array([1.0, 1.0, 1.0])
    rms, err = rms_log_ratio(m, 0.1 * m, d, 0.1 * d)
    lr = np.log([2.0, 3.0])
    assert rms == np.sqrt(np.mean(lr ** 2))
    s = np.sqrt(0.02)  # relative errors of 10 % on both sides
    assert np.isclose(err, np.sqrt(np.sum((lr * s) ** 2)) / (2 * rms))
    # the same by brute force: the spread of the rms over resampled (m, d)
    rng = np.random.default_rng(1)
    draws = [rms_log_ratio(m * (1 + 0.1 * rng.standard_normal(3)), m, d * (1 + 0.1 * rng.standard_normal(3)), d)[0]
             for _ in range(4000)]
    assert abs(np.std(draws) / err - 1) < 0.1
    assert np.isnan(rms_log_ratio([np.nan], [1.0], [1.0], [1.0])[0])


def test_block_errors_of_the_shape_statistics():
    """For independent Gaussian samples the block standard errors of skewness and excess
    kurtosis are those of the sample statistics, sqrt(6/n) and sqrt(24/n)."""
    import numpy as np

    from trsp_core.cli.descriptors import structural_statistics

    rng = np.random.default_rng(3)
    n = 200_000
    s = rng.standard_normal(n)
    r = rng.random(n) < 0.05 * (1 + (s > 0))
    blocks = np.repeat(np.arange(20), n // 20)
    st = structural_statistics({0.5: s}, {0.5: r}, blocks={0.5: blocks})
    # 20 blocks: the error estimate itself scatters by ~1/sqrt(2 x 19) = 16 %; 45 % is ~3 sigma
    assert abs(st["skewness_err"][0] / np.sqrt(6 / n) - 1) < 0.45
    assert abs(st["excess_kurtosis_err"][0] / np.sqrt(24 / n) - 1) < 0.45
    assert st["roc_auc_err"][0] > 0


def test_ranking_by_model_where_there_is_one_and_by_structure_always():
    import numpy as np

    from trsp_core.cli.descriptors import ranking, structure_ranking

    ok = lambda t, c: {"status": "ok", "tau_alpha_log_error": t, "chi4_star_log_error": c}  # noqa: E731
    results = {"a": {"roc_auc": np.array([0.7]), "chain": ok(1.0, 0.5)},
               "b": {"roc_auc": np.array([0.5]), "chain": ok(0.2, 0.3)},
               "c": {"roc_auc": np.array([0.6]), "chain": {"status": "measure: parameters invalid"}}}
    assert [r[0] for r in ranking(results)] == ["b", "a", "c"] and np.isnan(ranking(results)[-1][1])
    assert [r[0] for r in structure_ranking(results)] == ["a", "c", "b"]
    for r in results.values():
        r["chain"] = {"status": "skipped"}
    assert [r[0] for r in ranking(results)] == ["a", "c", "b"]
