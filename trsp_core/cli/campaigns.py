"""``trsp sweep``, ``trsp plot`` and ``trsp age`` (typer command functions).

Registered by ``trsp_core.cli`` as ``trsp_core.cli.campaigns:sweep``, ``...:plot``, ``...:age``.

Running on a cluster: start a scheduler and workers yourself and pass its address,

    dask scheduler --port 8786 &                       # on the login / head node
    dask worker tcp://HEAD:8786 --nworkers 32 --nthreads 1   # on each compute node
    trsp sweep ... --scheduler tcp://HEAD:8786 --out /shared/fs/campaign

or on SLURM with the optional dask-jobqueue package (not a trsp dependency)::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=32, processes=32, memory="64GB", walltime="04:00:00")
    cluster.scale(jobs=4); print(cluster.scheduler_address)   # pass this to --scheduler

``--out`` must be on a file system the workers share: each run writes its own file there.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from trsp_core.spec import DEFAULTS


def _fail(msg: str):
    typer.echo(f"trsp: error: {msg}", err=True)
    raise typer.Exit(2)


def _floats(text: str, what: str) -> list[float]:
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        _fail(f"{what} must be a comma-separated list of numbers, got {text!r}")
    if not vals:
        _fail(f"{what} is empty")
    return vals


def _strs(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _ints(text: str, what: str) -> list[int]:
    try:
        vals = [int(x) for x in _strs(text)]
    except ValueError:
        _fail(f"{what} must be a comma-separated list of integers, got {text!r}")
    if not vals:
        _fail(f"{what} is empty")
    bad = [v for v in vals if v < 1]
    if bad:
        _fail(f"{what} must be >= 1, got {bad[0]}")
    return vals


def _positive_list(vals: list[float], what: str) -> list[float]:
    from trsp_core.validators import check_positive

    for v in vals:
        check_positive(v, what)
    return vals


def _check_scheduler(scheduler: str, timeout: float = 5.0) -> None:
    """An address that does not answer fails here in seconds, with one line (dask's own
    connect waits 30 s and then raises a traceback)."""
    import socket

    from distributed.comm.addressing import parse_address, parse_host_port

    if scheduler == "local":
        return
    try:
        proto, loc = parse_address(scheduler)
        if proto not in ("tcp", "tls", "ws", "wss", "inproc", "ucx"):
            raise ValueError(f"unknown scheme '{proto}'")
        if proto in ("inproc", "ucx"):
            return  # nothing to probe with a socket
        host, port = parse_host_port(loc)
    except (ValueError, TypeError) as exc:
        _fail(f"--scheduler {scheduler!r} is neither 'local' nor a scheduler address like tcp://host:8786 ({exc})")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as exc:
        _fail(f"--scheduler {scheduler}: no scheduler answers there ({exc.strerror or exc}); "
              "start one (`dask scheduler`) or use --scheduler local")


def _check_campaign(*, seeds, seed, duration, tau_factor, max_duration, backend, scheduler, workers, out) -> None:
    """Everything a sweep or an aging campaign can get wrong, before a worker starts."""
    from trsp_core.backends.simulate import resolve_backend
    from trsp_core.io import check_output_dir
    from trsp_core.validators import check_duration, check_positive, check_seeds

    check_seeds(seed, seeds, prefix="--")
    check_duration(duration, "--duration")
    check_positive(tau_factor, "--tau-factor")
    check_duration(max_duration, "--max-duration")
    resolve_backend(backend)
    if workers is not None and workers < 1:
        _fail(f"--workers must be >= 1 (omit it for one worker per core), got {workers}")
    _check_scheduler(scheduler)
    check_output_dir(out, "--out")  # last: it creates the directory


def _run_campaign(fn, **kwargs) -> dict:
    """``fn(**kwargs)``; a scheduler that goes away or refuses is one line, not a dask traceback."""
    try:
        return fn(**kwargs)
    except (OSError, TimeoutError) as exc:
        from trsp_core.errors import TRSPError

        if isinstance(exc, TRSPError):
            raise
        _fail(f"the dask cluster failed ({kwargs.get('scheduler', 'local')}): {type(exc).__name__}: {exc}")


def summary_lines(summary: dict) -> list[str]:
    """The printed campaign summary: counts, paths, the wall time in seconds."""
    out = []
    for k, v in summary.items():
        if k == "wall_s":
            out.append(f"{'wall':>14}: {v:.1f} s")
        elif isinstance(v, float):
            out.append(f"{k:>14}: {v:.4g}")
        else:
            out.append(f"{k:>14}: {v}")
    return out


def sweep_table(combined) -> list[str]:
    """One line per measured (variant, T) of sweep.nc: tau_alpha [frames], chi4*, xi4 [sigma_AA]
    with their errors; a point without a measured tau_alpha says so."""
    if not combined:
        return []
    import numpy as np

    from trsp_core.io import netcdf
    from trsp_core.observables.stats import value_with_error

    def fmt(ds, name, i, j):
        v = float(ds[name].values[i, j])
        e = float(ds[f"{name}_err"].values[i, j]) if f"{name}_err" in ds else None
        return "not measured" if not np.isfinite(v) else value_with_error(v, e)

    lines = [f"{'variant':<28} {'T':>6}  {'tau_alpha [frames]':>20}  {'chi4*':>14}  {'xi4 [sigma_AA]':>16}"]
    with netcdf.opened(combined) as ds:
        labels, temps, n = [str(x) for x in ds["variant_label"].values], ds["temperature"].values, ds["n_seeds"].values
        for i, label in enumerate(labels):
            for j, T in enumerate(temps):
                if n[i, j] > 0:
                    xi4 = fmt(ds, "xi4", i, j) if "xi4" in ds else "-"
                    lines.append(f"{label:<28} {T:>6g}  {fmt(ds, 'tau_alpha', i, j):>20}  "
                                 f"{fmt(ds, 'chi4_star', i, j):>14}  {xi4:>16}")
    return lines


def _unmeasured_points(combined) -> list[str]:
    """'<variant label> T=<T>' of every point with seeds but a NaN tau_alpha in ``combined`` (sweep.nc)."""
    if not combined:
        return []
    import numpy as np

    from trsp_core.io import netcdf

    with netcdf.opened(combined) as ds:
        tau, n = ds["tau_alpha"].values, ds["n_seeds"].values
        labels, temps = [str(x) for x in ds["variant_label"].values], ds["temperature"].values
    return [f"{labels[i]} T={temps[j]:g}" for i, j in zip(*np.nonzero(~np.isfinite(tau) & (n > 0)))]


def sweep(
    temperatures: Annotated[str, typer.Option(help="comma-separated temperatures, e.g. 0.42,0.45,0.5")] = "0.42,0.45,0.47,0.50,0.55,0.60,0.70",
    seeds: Annotated[int, typer.Option(help="seeds per (variant, temperature); run i uses seed + i")] = 8,
    seed: Annotated[int, typer.Option(help="first seed")] = 0,
    descriptor: Annotated[str, typer.Option(help="descriptor plugin(s), comma-separated")] = DEFAULTS.descriptor,
    lattice: Annotated[str, typer.Option("--lattice", help="lattice plugin(s)")] = DEFAULTS.lattice,
    size: Annotated[str, typer.Option(help="lattice size(s) L, comma-separated")] = str(DEFAULTS.size),
    cluster: Annotated[str, typer.Option(help='cluster rule(s), comma-separated: plaquette (m=4), single (m=1), bond, triangle, tetrahedron, or a weighted mixture "single:0.3+plaquette:0.7"')] = DEFAULTS.cluster,
    delta_rule: Annotated[str, typer.Option("--delta-rule", help="K_Delta distance rule(s): nearest, center-of-mass")] = DEFAULTS.delta_rule,
    rate: Annotated[str, typer.Option(help="rate-law plugin(s)")] = DEFAULTS.rate,
    facilitation: Annotated[str, typer.Option(help="facilitation factor(s) c, e.g. 1,0.6,0.2")] = str(DEFAULTS.facilitation),
    params: Annotated[Optional[Path], typer.Option(help="TOML file overriding the descriptor's parameters")] = None,
    observables: Annotated[str, typer.Option(help="'auto' (overlap + S4/block-chi4 plugins) or a comma-separated list")] = "auto",
    duration: Annotated[Optional[float], typer.Option(help="frames per run (default: automatic from T)")] = None,
    tau_factor: Annotated[float, typer.Option(help="automatic run length = this x tau estimate")] = 20.0,
    max_duration: Annotated[float, typer.Option(help="cap on the automatic run length [frames]")] = 2e5,
    backend: Annotated[str, typer.Option(help="auto | fast | reference")] = "auto",
    scheduler: Annotated[str, typer.Option(help="'local' (LocalCluster, one process per core) or a scheduler address")] = "local",
    workers: Annotated[Optional[int], typer.Option(help="local workers (default: number of cores)")] = None,
    out: Annotated[Path, typer.Option(help="output directory (runs/, sweep.nc)")] = Path("trsp_sweep"),
    json_out: Annotated[bool, typer.Option("--json", help="print a JSON summary")] = False,
    fields: Annotated[str, typer.Option(help="run fields each per-run file stores (events, kicks, endpoints, "
                                             "occupancy, time_integral); 'events' suffices for Q, chi4, S4")] = "events",
):
    """Temperature x seed x variant campaign on dask.distributed; re-run the same command to resume.

    Variant axes (--descriptor, --size, --cluster, --delta-rule, --facilitation, ...) accept
    comma-separated lists; the sweep runs their Cartesian product.
    """
    from trsp_core.campaigns.sweep import run_sweep
    from trsp_core.campaigns.spec import variant_product

    from trsp_core.campaigns.tasks import check_sweep_fields
    from trsp_core.plugin.registry import default_registry

    temps = _positive_list(_floats(temperatures, "--temperatures"), "--temperatures")
    sizes = _ints(size, "--size")
    facs = _positive_list(_floats(facilitation, "--facilitation"), "--facilitation")
    try:
        variants = variant_product(descriptor=_strs(descriptor), lattice=_strs(lattice), size=sizes,
                                   cluster=_strs(cluster), delta_rule=_strs(delta_rule), rate=_strs(rate),
                                   facilitation=facs, params=[str(params) if params else None])
    except ValueError as exc:
        _fail(str(exc))
    obs = None if observables == "auto" else _strs(observables)
    if obs is not None and not obs:
        _fail("--observables is empty (give 'auto' or plugin names)")
    for name in obs or ():
        default_registry().get("observable", name)
    check_sweep_fields(tuple(_strs(fields)))
    _check_campaign(seeds=seeds, seed=seed, duration=duration, tau_factor=tau_factor, max_duration=max_duration,
                    backend=backend, scheduler=scheduler, workers=workers, out=out)
    summary = _run_campaign(run_sweep, variants=variants, temperatures=temps, seeds=seeds, seed=seed, out=out,
                            scheduler=scheduler, n_workers=workers, backend=backend, duration=duration,
                            tau_factor=tau_factor, max_duration=max_duration, observables=obs,
                            show_progress=not json_out, fields=tuple(_strs(fields)))
    if summary.get("interrupted"):
        # run_sweep printed the one line "interrupted; N runs kept, rerun to resume"
        if json_out:
            typer.echo(json.dumps(summary))
        raise typer.Exit(130)
    unmeasured = _unmeasured_points(summary.get("combined"))
    if unmeasured:
        summary["tau_alpha_unmeasured"] = unmeasured
        typer.echo(f"trsp: warning: tau_alpha and chi4* not measured (NaN) at {len(unmeasured)} point(s): "
                   f"{'; '.join(unmeasured)}: chi4 peaks at the edge of the lag window (runs too short); "
                   "re-run with a larger --tau-factor / --max-duration, or a longer --duration", err=True)
    if json_out:
        typer.echo(json.dumps(summary))
    else:
        for line in summary_lines(summary) + sweep_table(summary.get("combined")):
            typer.echo(line)
    if summary.get("runs_failed"):
        typer.echo(f"{summary['runs_failed']} run(s) failed (see {out}/failures.json); re-run to retry them", err=True)
        raise typer.Exit(1)


def plot(
    results: Annotated[list[Path], typer.Argument(help="sweep.nc file(s) or sweep directories, compose files, aging.nc")],
    out: Annotated[Path, typer.Option(help="directory for the PNG figures")] = Path("trsp_figures"),
):
    """Figures from sweep results: Q/chi4 (Fig. 4), tau_alpha/chi4*/xi4 vs T (5, 6), facilitation (7),
    m=1 vs m=4 (12), scaling collapses (13-16); Q/chi4 of a compose file; <S(t)> of an aging file (8)."""
    from trsp_core.io import check_output_dir
    from trsp_core.plotting.figures import is_aging_file, load_results, plot_aging, plot_compose, plot_sweep

    for r in results:
        if not (r.exists() and (r.is_file() or (r / "sweep.nc").exists())):
            _fail(f"{r} is neither a sweep.nc file nor a sweep directory containing one")
    singles, sweeps = [], []
    for r in results:  # compose and aging files are drawn on their own; the rest must be sweeps
        d = _open_other(r) if r.is_file() else None
        (singles if d is not None else sweeps).append((r, d))
    if sweeps:
        load_results([r for r, _ in sweeps])  # every file checked before a figure is drawn
    check_output_dir(out, "--out")
    for r, d in singles:
        f = plot_aging(d, out) if is_aging_file(d) else plot_compose(d, out, name=r.stem)
        typer.echo(str(f))
    if sweeps:
        for f in plot_sweep([r for r, _ in sweeps], out):
            typer.echo(str(f))


def _open_other(path: Path):
    """The dataset of a compose or aging file, or None (a sweep, or not readable: the sweep
    checks then name the problem)."""
    from trsp_core.io import netcdf
    from trsp_core.plotting.figures import is_aging_file, is_compose_file

    try:
        with netcdf.opened(path) as d:
            if is_aging_file(d) or is_compose_file(d):
                keep = [v for v in d.data_vars if "event" not in d[v].dims and "snapshot" not in d[v].dims]
                return d[keep].load()
    except Exception:  # noqa: BLE001 - unreadable files get their one-line error from the sweep checks
        return None
    return None


def age(
    initial_temperature: Annotated[float, typer.Option(help="T_I: initial state drawn from equilibrium at T_I")] = 0.7,
    final_temperatures: Annotated[str, typer.Option(help="comma-separated quench temperatures T_F")] = "0.45,0.5,0.55",
    seeds: Annotated[int, typer.Option(help="seeds averaged per (model, T_F)")] = 50,
    seed: Annotated[int, typer.Option(help="first seed")] = 0,
    size: Annotated[int, typer.Option(help="lattice size L")] = 10,
    params: Annotated[Optional[Path], typer.Option(help="TOML file overriding the TRSP model's descriptor parameters "
                                                   "(forms and temperature laws too; the trap model keeps its own)")] = None,
    duration: Annotated[Optional[float], typer.Option(help="frames after the quench (default: automatic from T_F)")] = None,
    tau_factor: Annotated[float, typer.Option(help="automatic run length = this x tau estimate at T_F")] = 20.0,
    max_duration: Annotated[float, typer.Option(help="cap on the automatic run length [frames]")] = 2e5,
    n_times: Annotated[int, typer.Option(help="points of the logarithmic time grid")] = 40,
    backend: Annotated[str, typer.Option(help="auto | fast | reference")] = "auto",
    scheduler: Annotated[str, typer.Option(help="'local' or a dask scheduler address")] = "local",
    workers: Annotated[Optional[int], typer.Option(help="local workers (default: number of cores)")] = None,
    out: Annotated[Path, typer.Option(help="output directory (runs/, aging.nc, fig8_aging.png)")] = Path("trsp_aging"),
    json_out: Annotated[bool, typer.Option("--json", help="print a JSON summary")] = False,
):
    """Aging after a quench T_I -> T_F: <S(t)> for the TRSP and the trap model (Fig. 8)."""
    from trsp_core.campaigns.aging import run_aging

    from trsp_core.validators import check_int_at_least, check_positive

    check_positive(initial_temperature, "--initial-temperature")
    tfs = _positive_list(_floats(final_temperatures, "--final-temperatures"), "--final-temperatures")
    check_int_at_least(size, "--size", 1)
    check_int_at_least(n_times, "--n-times", 2)
    _check_campaign(seeds=seeds, seed=seed, duration=duration, tau_factor=tau_factor, max_duration=max_duration,
                    backend=backend, scheduler=scheduler, workers=workers, out=out)
    from trsp_core.campaigns.aging import AGING_MODELS

    models = dict(AGING_MODELS)
    if params is not None:
        # the run identity hashes the file's content: a changed file means new runs, not a stale resume
        models["TRSP"] = {**models["TRSP"], "params": str(params)}
    summary = _run_campaign(run_aging, initial_temperature=initial_temperature, final_temperatures=tfs,
                            seeds=seeds, seed=seed, size=size, backend=backend, duration=duration,
                            tau_factor=tau_factor, max_duration=max_duration, n_times=n_times, out=out,
                            scheduler=scheduler, n_workers=workers, show_progress=not json_out, models=models)
    if summary.get("interrupted"):
        # run_aging printed the one line "interrupted; N runs kept, rerun to resume"
        if json_out:
            typer.echo(json.dumps(summary))
        raise typer.Exit(130)
    typer.echo(json.dumps(summary) if json_out else "\n".join(summary_lines(summary)))
    if summary.get("runs_failed"):
        raise typer.Exit(1)


if __name__ == "__main__":  # pragma: no cover - manual use: python -m trsp_core.cli.campaigns
    app = typer.Typer()
    app.command("sweep")(sweep)
    app.command("plot")(plot)
    app.command("age")(age)
    app(sys.argv[1:])
