"""`trsp descriptors list|fit|compute|assess`: structural descriptors computed from MD trajectories.

Every descriptor comes from the registry (``trsp_structural_descriptors``), so a
third-party plugin's descriptor runs through exactly the same commands.

``compute`` writes the trsp netCDF layout that `trsp softness apply` writes
(``position``, ``type``, ``descriptor``, ``phop``; attributes ``box``, ``dt``,
``temperature``, ``phop_window``) plus the descriptor's provenance, so
`trsp measure` reads the files unchanged.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import numpy as np
import typer

from trsp_core.errors import ParameterError, TRSPError

app = typer.Typer(help="Structural descriptors from MD trajectories: compute, standardise, assess.",
                  no_args_is_help=True, add_completion=False)


def _fail(exc: Exception) -> None:
    typer.echo(f"trsp: error: {exc}", err=True)
    raise typer.Exit(code=2)


def parse_params(items: List[str] | None, flag: str = "--param") -> dict:
    """["r_max=1.5", "average=true"] -> {"r_max": "1.5", "average": "true"} (converted by the descriptor)."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"parameter '{flag}' must be NAME=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def resolve(spec: str, params: dict | None = None, registry=None):
    """A descriptor from a registered NAME (with ``params``) or a descriptor file (.json) written by `fit`."""
    from trsp_core.plugin.interfaces import load_descriptor
    from trsp_core.plugin.registry import default_registry

    reg = registry or default_registry()
    path = Path(spec)
    if path.suffix == ".json" or (path.is_file() and spec not in reg.names("structural")):
        if params:
            raise ParameterError(f"descriptor file '{spec}' fixes its parameters; drop --param")
        return load_descriptor(path, registry=reg)
    return reg.get("structural", spec)(params or None)


def raw_values(descriptor, traj, stride: int = 1) -> np.ndarray:
    """Raw (F, N) values of every ``stride``-th frame (NaN elsewhere)."""
    frames = list(range(0, traj.n_frames, stride))
    out = np.full((traj.n_frames, traj.n_particles), np.nan)
    out[frames] = descriptor.raw((traj.box, traj.positions[frames], traj.types))
    return out


def output_paths(out: Path, trajs: List[Path], name: str, directory: bool = False) -> List[Path]:
    """``out`` itself for one file (unless ``directory``), else ``out/<stem>.<name>.nc`` per file;
    ``out/<parent>_<stem>.<name>.nc`` when stems repeat (``T0.5/run1.nc``, ``T0.6/run1.nc``)."""
    if len(trajs) == 1 and not directory:
        return [out]
    stems = [Path(p).stem for p in trajs]
    if len(set(stems)) < len(stems):
        stems = [f"{Path(p).resolve().parent.name}_{Path(p).stem}" for p in trajs]
    if len(set(stems)) < len(stems):
        raise ParameterError("trajectory files with the same name in directories of the same name would write "
                             "the same output file; rename them or run them separately")
    return [out / f"{stem}.{name}.nc" for stem in stems]


def load_with_phop(trajs: List[Path], window: int = 10, dt: float | None = None) -> list:
    """Read every trajectory; a file without a ``phop`` column gets one computed with ``window``."""
    from trsp_core.md.mdio import read_trajectory
    from trsp_core.md.phop import phop as compute_phop

    if window < 2 or window % 2:
        raise ParameterError(f"parameter '--window' must be an even integer >= 2, got {window}")
    loaded = [read_trajectory(p, dt=dt) for p in trajs]
    return [t if "phop" in t.columns else t.with_columns(phop=compute_phop(t.positions, t.box, window))
            for t in loaded]


def compute_files(descriptor, trajs: List[Path], out: Path, *, window: int = 10, stride: int = 1,
                  dt: float | None = None, echo=None, directory: bool = False, loaded: list | None = None):
    """Compute, standardise (pooled over all ``trajs`` unless already fitted) and write; returns
    (the fitted descriptor, [written paths], [standardised (F, N) values]). ``loaded``: the trajectories already read by
    :func:`load_with_phop` (assess reuses them for every descriptor)."""
    from trsp_core.md.mdio import write_netcdf

    if stride < 1:
        raise ParameterError(f"parameter '--stride' must be >= 1, got {stride}")
    if loaded is None:
        loaded = load_with_phop(trajs, window, dt)
    raws = [raw_values(descriptor, t, stride) for t in loaded]
    if not descriptor.fitted:
        # One standardisation for all files: per-file standardisation would erase the
        # temperature dependence of <S> that `trsp measure` fits as mu(T).
        descriptor = descriptor.fit([(t.box, t.positions[:1], t.types) for t in loaded], raws=raws)
    prov = descriptor.provenance()
    st = descriptor.standardisation
    written, values = [], []
    for src, t, raw, dst in zip(trajs, loaded, raws, output_paths(out, trajs, descriptor.name, directory)):
        s = descriptor.standardised(raw, t.types)
        attrs = {"phop_window": window, "descriptor_name": descriptor.name, "descriptor_sign": int(descriptor.sign),
                 "descriptor_parameters": json.dumps(prov["parameters"]),
                 "descriptor_standardisation_mean": np.asarray(st.mean, float),
                 "descriptor_standardisation_std": np.asarray(st.std, float),
                 "descriptor_provenance": json.dumps(prov, allow_nan=True),
                 "descriptor_stride": stride}
        write_netcdf(t.with_columns(descriptor=s), dst, extra_attrs=attrs)
        written.append(dst)
        values.append(s)
        if echo is not None:
            sel = np.isfinite(s)
            echo(f"{src} -> {dst}: {descriptor.name} raw mean {np.nanmean(raw):+.4g}, std {np.nanstd(raw):.4g}; "
                 f"standardised: {int(sel.sum())} finite values")
    return descriptor, written, values


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="one JSON object per descriptor")):
    """The registered structural descriptors, their parameters (defaults) and sign convention."""
    import attrs

    from trsp_core.plugin.registry import default_registry

    reg = default_registry()
    rows = []
    for name in reg.names("structural"):
        info = reg.info("structural", name)
        factory = info.obj
        params_cls = getattr(factory, "Params", None)
        defaults = ({f.name: f.default for f in attrs.fields(params_cls)}
                    if params_cls is not None and attrs.has(params_cls) else {})
        rows.append({"name": name, "description": info.description, "distribution": info.distribution or "(python)",
                     "sign": int(getattr(factory, "sign", 1)), "sign_known": bool(getattr(factory, "sign_known", False)),
                     "parameters": {k: v for k, v in defaults.items()}})
    if json_out:
        typer.echo(json.dumps(rows, default=str))
        return
    for r in rows:
        params = ", ".join(f"{k}={v}" for k, v in r["parameters"].items()) or "-"
        typer.echo(f"{r['name']:<16} sign {r['sign']:+d}{'' if r['sign_known'] else '?'}  {r['description']}")
        typer.echo(f"{'':<16} parameters: {params}   ({r['distribution']})")


@app.command()
def fit(
    name: str = typer.Argument(..., help="registered descriptor (see `trsp descriptors list`)"),
    traj: List[Path] = typer.Argument(..., help="training trajectories (.gsd, LAMMPS dump, .nc, .npz)"),
    out: Path = typer.Option(..., "--out", help="descriptor file to write (JSON)"),
    param: Optional[List[str]] = typer.Option(None, "--param", help="NAME=VALUE descriptor parameter (repeatable)"),
    stride: int = typer.Option(1, help="use every STRIDE-th frame"),
    dt: Optional[float] = typer.Option(None, help="time between frames (GSD/dump)"),
):
    """Standardise a descriptor over training frames and write it (parameters, sign, mean/std, versions)."""
    from trsp_core.md.mdio import read_trajectory
    from trsp_core.plugin.interfaces import save_descriptor

    try:
        if stride < 1:
            raise ParameterError(f"parameter '--stride' must be >= 1, got {stride}")
        desc = resolve(name, parse_params(param))
        loaded = [read_trajectory(p, dt=dt) for p in traj]
        systems = [(t.box, t.positions[::stride], t.types) for t in loaded]
        desc = desc.fit(systems)
        save_descriptor(desc, out)
    except TRSPError as exc:
        _fail(exc)
    st = desc.standardisation
    typer.echo(f"{desc.name}: mean {list(np.round(st.mean, 6))}, std {list(np.round(st.std, 6))} per species "
               f"over {list(st.count)} particle-frames; written to {out}")


@app.command()
def compute(
    name: str = typer.Argument(..., metavar="NAME|FILE.json",
                               help="registered descriptor, or a descriptor file written by `fit`"),
    traj: List[Path] = typer.Argument(..., help="trajectory files"),
    out: Path = typer.Option(..., "--out", help="netCDF file (one TRAJ) or directory (several TRAJ)"),
    param: Optional[List[str]] = typer.Option(None, "--param", help="NAME=VALUE descriptor parameter (repeatable)"),
    window: int = typer.Option(10, help="p_hop window in frames (when the file has no phop)"),
    stride: int = typer.Option(1, help="compute every STRIDE-th frame (others NaN; `trsp measure` needs 1)"),
    dt: Optional[float] = typer.Option(None, help="time between frames (GSD/dump)"),
    save: Optional[Path] = typer.Option(None, "--save-descriptor", help="also write the fitted descriptor (JSON)"),
):
    """Per-particle descriptor and p_hop in the trsp netCDF layout (what `trsp measure` reads).

    With NAME the standardisation is fitted on all TRAJ pooled (one mean/std per
    species); with a descriptor file its stored standardisation is used.
    """
    from trsp_core.plugin.interfaces import save_descriptor

    try:
        desc = resolve(name, parse_params(param))
        desc, _, _ = compute_files(desc, traj, out, window=window, stride=stride, dt=dt, echo=typer.echo)
        if save is not None:
            save_descriptor(desc, save)
            typer.echo(f"descriptor written to {save}")
    except TRSPError as exc:
        _fail(exc)


# ------------------------------------------------------------------------ assess
#: time blocks per trajectory file for the ROC AUC's standard error
N_BLOCKS = 5

def _binomial(flags: np.ndarray, s: np.ndarray, edges: np.ndarray):
    idx = np.clip(np.digitize(s, edges) - 1, 0, len(edges) - 2)
    nb = len(edges) - 1
    n = np.bincount(idx, minlength=nb).astype(float)
    k = np.bincount(idx, weights=flags.astype(float), minlength=nb)
    mean_s = np.bincount(idx, weights=s, minlength=nb) / np.maximum(n, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        pe = np.clip(p, 1 / (n + 2), 1 - 1 / (n + 2))
        err = np.sqrt(pe * (1 - pe) / n)
    return mean_s, p, err, n, k


def _weighted_line(x, y, yerr):
    """trsp_core.measure.fits.weighted_line on the finite points with positive errors (None if < 2)."""
    from trsp_core.measure.fits import weighted_line

    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(yerr) & (yerr > 0)
    return weighted_line(x[ok], y[ok], yerr[ok], names=("intercept", "slope")) if ok.sum() >= 2 else None


def _auc(r, s):
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(r, s)) if 0 < r.sum() < r.size else np.nan


def _block_error(fn, r, s, blocks) -> float:
    """Standard error of fn(r, s) from its spread over time blocks (particle-frames are
    correlated in time, so the samples are not independent; the blocks nearly are)."""
    if blocks is None:
        return np.nan
    per = np.array([fn(r[blocks == b], s[blocks == b]) for b in np.unique(blocks)], float)
    per = per[np.isfinite(per)]
    return float(np.std(per, ddof=1) / np.sqrt(per.size)) if per.size >= 2 else np.nan


def structural_statistics(values: dict, flags: dict, n_bins: int = 8, min_count: int = 20,
                          blocks: dict | None = None) -> dict:
    """Per temperature and pooled: Gaussianity, P(R|S), its contrast and ROC AUC; with >= 2
    temperatures the Arrhenius fit ln P(R|S) = Sigma(S) - DeltaE(S)/T per S bin.

    ``values[T]``, ``flags[T]``: 1D arrays of S and rearranging flags (valid particle-frames of
    the analysed species); ``blocks[T]`` (optional): a time-block label per sample, for the
    ROC AUC's error (standard error over blocks: particle-frames are correlated in time).
    """
    from scipy import stats
    temps = sorted(values)
    pooled = np.concatenate([values[T] for T in temps])
    edges = np.quantile(pooled, np.linspace(0, 1, n_bins + 1))
    edges[0], edges[-1] = -np.inf, np.inf
    out = {"temperature": np.array(temps), "skewness": [], "skewness_err": [], "excess_kurtosis": [],
           "excess_kurtosis_err": [], "roc_auc": [], "roc_auc_err": [], "gamma": [],
           "gamma_err": [], "contrast": [], "rearranging_fraction": [], "bin_s": [], "p": [], "p_err": [],
           "count": []}
    for T in temps:
        s, r = values[T], flags[T]
        out["skewness"].append(float(stats.skew(s)))
        out["excess_kurtosis"].append(float(stats.kurtosis(s, fisher=True)))
        out["rearranging_fraction"].append(float(r.mean()))
        out["roc_auc"].append(_auc(r, s))
        for key, fn in (("roc_auc", lambda rr, ss: _auc(rr, ss)), ("skewness", lambda rr, ss: float(stats.skew(ss))),
                        ("excess_kurtosis", lambda rr, ss: float(stats.kurtosis(ss, fisher=True)))):
            out[f"{key}_err"].append(_block_error(fn, r, s, None if blocks is None else blocks[T]))
        ms, p, err, n, k = _binomial(r, s, edges)
        use = (n >= min_count) & (k > 0)
        fit = _weighted_line(ms[use], np.log(p[use]), err[use] / p[use])
        out["gamma"].append(np.nan if fit is None else fit["slope"])
        out["gamma_err"].append(np.nan if fit is None else fit.err("slope"))
        out["contrast"].append(float(p[-1] / p[0]) if p[0] > 0 else np.inf)
        out["bin_s"].append(ms), out["p"].append(p), out["p_err"].append(err), out["count"].append(n)
    for key in ("bin_s", "p", "p_err", "count"):
        out[key] = np.array(out[key])
    for key in ("skewness", "skewness_err", "excess_kurtosis", "excess_kurtosis_err", "roc_auc", "roc_auc_err", "gamma",
                "gamma_err", "contrast", "rearranging_fraction"):
        out[key] = np.array(out[key], float)
    # Arrhenius per bin across temperatures
    nb = len(edges) - 1
    de, sg, chi2, dof = (np.full(nb, np.nan) for _ in range(4))
    if len(temps) >= 2:
        invT = 1 / np.array(temps)
        for b in range(nb):
            p, e, n = out["p"][:, b], out["p_err"][:, b], out["count"][:, b]
            ok = (n >= min_count) & (p > 0)
            fit = _weighted_line(invT[ok], np.log(p[ok]), e[ok] / p[ok])
            if fit is not None:
                sg[b], de[b], chi2[b], dof[b] = fit["intercept"], -fit["slope"], fit.chi2, fit.dof
    out.update(delta_e=de, sigma=sg, arrhenius_chi2=chi2, arrhenius_dof=dof)
    with np.errstate(invalid="ignore"):
        tot_chi2, tot_dof = np.nansum(chi2), np.nansum(dof)
    out["arrhenius_p_value"] = float(stats.chi2.sf(tot_chi2, tot_dof)) if tot_dof > 0 else np.nan
    out["arrhenius_chi2_per_dof"] = float(tot_chi2 / tot_dof) if tot_dof > 0 else np.nan
    out["delta_e_range"] = float(np.nanmax(de) - np.nanmin(de)) if np.isfinite(de).sum() >= 2 else np.nan
    out["sigma_range"] = float(np.nanmax(sg) - np.nanmin(sg)) if np.isfinite(sg).sum() >= 2 else np.nan
    return out


def _chain(name: str, files: List[Path], workdir: Path, *, phop_threshold, phop_window, species, cluster, lattice,
           size, seeds, duration, echo, fixed=None, figures=False) -> dict:
    """measure -> compose (every temperature) -> compare against the MD; returns the numbers or a failure."""
    from trsp_core.compare import compare as run_compare, md_inputs, write_outputs as write_compare
    from trsp_core.io import write_dataset
    from trsp_core.measure import MeasureOptions, concat, load, measure as run_measure, write_outputs
    from trsp_core.spec import compose

    opts = MeasureOptions(phop_threshold=phop_threshold, phop_window=phop_window, species=species,
                          cluster=cluster, lattice=lattice, name=name, fixed=dict(fixed or {}))
    by_t: dict[float, list] = {}
    for p in files:
        d = load(p, opts)
        by_t.setdefault(d.temperature, []).append(d)
    res = run_measure([v[0] if len(v) == 1 else concat(v) for v in by_t.values()], opts)
    paths = write_outputs(res, workdir / "measure", figures=figures)
    out = {"T0": res.params.T0, "xi": res.params.xi, "C1": res.params.C1, "status": "ok"}
    if not res.valid:
        out["status"] = f"measure: parameters invalid: {res.failures[0]}"
        return out
    models = []
    for T in sorted(by_t):
        model = compose(descriptor="gaussian", params=paths["params"], temperature=T, size=size, cluster=cluster,
                        lattice=lattice)
        ds = model.run(seeds=seeds, duration=duration, observables=["overlap", "s4"])
        models.append(write_dataset(ds, workdir / f"model_T{T:g}.nc"))
        if echo:
            echo(f"  {name}: composed and ran T = {T:g}")
    md = md_inputs(files, species=species, phop_threshold=phop_threshold, phop_window=phop_window)
    cmp = run_compare(md, models, warn=False)
    write_compare(cmp, workdir / "compare", figures=figures)
    src = [str(s) for s in cmp.source.values]
    model_src = next(s for s in src if s.startswith("model"))
    md_src = "md:phop" if "md:phop" in src else next(s for s in src if s.startswith("md"))
    for var in ("tau_alpha", "chi4_star"):
        m = cmp[var].sel(source=model_src).values.astype(float)
        d = cmp[var].sel(source=md_src).values.astype(float)
        me = cmp[f"{var}_err"].sel(source=model_src).values.astype(float)
        de = cmp[f"{var}_err"].sel(source=md_src).values.astype(float)
        out[f"{var}_model"], out[f"{var}_md"] = m, d
        out[f"{var}_log_error"], out[f"{var}_log_error_err"] = rms_log_ratio(m, me, d, de)
    out["compare_temperatures"] = cmp.temperature.values.astype(float)
    return out


@app.command()
def assess(
    traj: List[Path] = typer.Argument(..., help="MD trajectories (one or more per temperature)"),
    out: Path = typer.Option(Path("trsp_assess"), "--out", help="output directory"),
    descriptor: Optional[List[str]] = typer.Option(None, "--descriptor",
                                                   help="descriptor NAME or FILE.json (repeatable; default: every "
                                                   "registered one that needs no parameter file)"),
    param: Optional[List[str]] = typer.Option(None, "--param", help="NAME.KEY=VALUE, e.g. softness.model=m.json"),
    species: int = typer.Option(0, help="particle type analysed (0 = A)"),
    phop_threshold: float = typer.Option(0.2, help="rearranging: p_hop > threshold"),
    window: int = typer.Option(10, help="p_hop window (frames) when a file has no phop"),
    bins: int = typer.Option(8, help="S bins (quantiles of the pooled values) for P(R|S)"),
    chain: Optional[bool] = typer.Option(None, "--chain/--no-chain",
                                         help="measure -> compose -> compare per descriptor (default: with >= 2 "
                                         "temperatures)"),
    size: int = typer.Option(12, help="lattice size L of the composed models"),
    seeds: int = typer.Option(4, help="seeds per composed model"),
    duration: Optional[float] = typer.Option(None, help="frames per model run (default: the model's)"),
    cluster: str = typer.Option("plaquette", help="cluster rule of the composed models"),
    lattice: str = typer.Option("cubic", help="lattice of the composed models"),
    fix: Optional[List[str]] = typer.Option(None, "--fix", help="NAME=VALUE passed to `trsp measure --fix` for "
                                            "every descriptor (repeatable), e.g. T0=0.74"),
    figures: bool = typer.Option(True, help="write fig_assess.png (and the figures of measure and compare)"),
):
    """Assess descriptors on MD: Gaussianity, P(R|S) (contrast, ROC AUC, Arrhenius fit), then
    measure -> compose -> compare, and rank them; writes assess.nc, assess.md and a figure."""
    from trsp_core.plugin.registry import default_registry

    try:
        reg = default_registry()
        grouped: dict[str, dict] = {}
        for head, value in parse_params(param).items():
            dname, dot, key = head.partition(".")
            if not (dot and key):
                raise ParameterError(f"parameter '--param' must be NAME.KEY=VALUE, got {head}={value}")
            grouped.setdefault(dname.strip(), {})[key.strip()] = value
        fixed = parse_params(fix, "--fix")
        names = descriptor or [n for n in reg.names("structural") if n != "softness" or "softness" in grouped]
        results = {}
        loaded = load_with_phop(traj, window)
        for path, t in zip(traj, loaded):
            if not np.isfinite(t.temperature):
                raise ParameterError(f"'{path}': missing field 'temperature' (assess groups files by it); "
                                     "write it into the file (trsp netCDF layout)")
        for name in names:
            desc = resolve(name, grouped.get(name))
            work = out / desc.name
            desc, written, values = compute_files(desc, traj, work / "values", window=window, directory=True,
                                                  loaded=loaded)
            vals, flags, blocks = {}, {}, {}
            for t, v in zip(loaded, values):
                sel = t.types == species
                s, p = v[:, sel], t.columns["phop"][:, sel]
                ok = np.all(np.isfinite(p), axis=1) & np.all(np.isfinite(s), axis=1)
                T = float(t.temperature)
                vals.setdefault(T, []).append(s[ok].ravel())
                flags.setdefault(T, []).append((p[ok] > phop_threshold).ravel())
                # contiguous time blocks, numbered apart per file (independent runs)
                nv, offset = int(ok.sum()), N_BLOCKS * len(blocks.get(T, []))
                frame_block = offset + (np.arange(nv) * N_BLOCKS) // max(nv, 1)
                blocks.setdefault(T, []).append(np.repeat(frame_block, int(sel.sum())))
            vals = {T: np.concatenate(v) for T, v in vals.items()}
            flags = {T: np.concatenate(v) for T, v in flags.items()}
            blocks = {T: np.concatenate(v) for T, v in blocks.items()}
            st = structural_statistics(vals, flags, n_bins=bins, blocks=blocks)
            st["sign"] = int(desc.sign)
            run_chain = (len(vals) >= 2) if chain is None else chain
            if run_chain:
                try:
                    st["chain"] = _chain(desc.name, written, work, phop_threshold=phop_threshold,
                                         phop_window=window, species=species, cluster=cluster, lattice=lattice,
                                         size=size, seeds=seeds, duration=duration, echo=typer.echo,
                                         fixed=fixed, figures=figures)
                except TRSPError as exc:
                    st["chain"] = {"status": f"failed: {exc}"}
            else:
                st["chain"] = {"status": "skipped: needs >= 2 temperatures" if len(vals) < 2 else "skipped"}
            results[desc.name] = st
            typer.echo(f"{desc.name}: skew {np.mean(st['skewness']):+.3f}, excess kurtosis "
                       f"{np.mean(st['excess_kurtosis']):+.3f}, ROC AUC {np.nanmean(st['roc_auc']):.3f}, "
                       f"P(R|S) contrast {np.mean(st['contrast']):.2f}; chain: {st['chain']['status']}")
        paths = write_assessment(results, out, figures=figures)
    except TRSPError as exc:
        _fail(exc)
    for k, p in paths.items():
        typer.echo(f"{k}: {p}")


def rms_log_ratio(m, m_err, d, d_err) -> tuple[float, float]:
    """sqrt(mean ln(m/d)^2) over the points where both are measured, and its error propagated
    from the relative errors of m and d (first order; NaN errors count as unknown -> NaN)."""
    m, me, d, de = (np.asarray(x, float) for x in (m, m_err, d, d_err))
    with np.errstate(invalid="ignore", divide="ignore"):
        lr = np.log(m / d)
        ok = np.isfinite(lr)
        if not ok.any():
            return np.nan, np.nan
        rms = float(np.sqrt(np.mean(lr[ok] ** 2)))
        s = np.sqrt((me[ok] / m[ok]) ** 2 + (de[ok] / d[ok]) ** 2)     # error of each ln ratio
        err = float(np.sqrt(np.sum((lr[ok] * s) ** 2)) / (ok.sum() * rms)) if rms > 0 else float(np.sqrt(np.mean(s ** 2)))
    return rms, err


def ranking(results: dict) -> list[tuple[str, float, str]]:
    """(name, score, basis), best first: the model's rms log error on tau_alpha plus chi4* where a
    model was composed (descriptors whose chain failed follow, score NaN), else, when no
    descriptor has a model, |ROC AUC| of S for rearrangements (structure only)."""
    chained = {n: r["chain"] for n, r in results.items() if r["chain"].get("status") == "ok"}
    if chained:
        basis = "rms ln(model/MD) tau_alpha + chi4* (lower is better; no model: last)"
        score = {n: chained[n]["tau_alpha_log_error"] + chained[n]["chi4_star_log_error"] if n in chained else np.nan
                 for n in results}
        return sorted(((n, sc, basis) for n, sc in score.items()), key=lambda t: (not np.isfinite(t[1]), t[1]))
    return structure_ranking(results)


def structure_ranking(results: dict) -> list[tuple[str, float, str]]:
    """(name, ROC AUC, basis), most predictive first."""
    score = {n: float(np.nanmean(r["roc_auc"])) for n, r in results.items()}
    return sorted(((n, s, "ROC AUC of S for rearranging particle-frames") for n, s in score.items()),
                  key=lambda t: -t[1] if np.isfinite(t[1]) else np.inf)


def _mean_err(errs) -> float:
    """Error of a mean over temperatures of independent estimates with errors ``errs``."""
    if errs is None:
        return np.nan
    e = np.asarray(errs, float)
    return float(np.sqrt(np.sum(e ** 2)) / e.size) if e.size else np.nan


def write_assessment(results: dict, out: Path, *, figures: bool = True) -> dict:
    import xarray as xr

    from trsp_core.io import write_dataset
    from trsp_core.io.atomic import atomic_write_text
    from trsp_core.io.provenance import provenance

    names = list(results)
    temps = results[names[0]]["temperature"]
    nb = results[names[0]]["p"].shape[1]
    per_t = ("skewness", "skewness_err", "excess_kurtosis", "excess_kurtosis_err", "roc_auc", "roc_auc_err", "gamma",
             "gamma_err", "contrast", "rearranging_fraction")
    long = {"skewness": "skewness of S", "excess_kurtosis": "excess kurtosis of S",
            "skewness_err": "standard error of the skewness over time blocks",
            "excess_kurtosis_err": "standard error of the excess kurtosis over time blocks",
            "roc_auc": "ROC AUC of S for rearranging particle-frames",
            "roc_auc_err": "standard error of the ROC AUC over time blocks", "gamma": "d ln P(R|S) / dS",
            "gamma_err": "error of gamma", "contrast": "P(R|S) top bin / bottom bin",
            "rearranging_fraction": "fraction of particle-frames rearranging"}
    data = {k: (("descriptor", "temperature"), np.array([results[n][k] for n in names]),
                {"units": "1", "long_name": long[k]}) for k in per_t}
    for k, ln in (("bin_s", "mean S in the bin"), ("p", "P(R|S)"), ("p_err", "binomial error of P(R|S)"),
                  ("count", "particle-frames in the bin")):
        data[k] = (("descriptor", "temperature", "s_bin"), np.array([results[n][k] for n in names]),
                   {"units": "1", "long_name": ln})
    for k, ln in (("delta_e", "DeltaE(S) from ln P = Sigma - DeltaE/T"), ("sigma", "Sigma(S)")):
        data[k] = (("descriptor", "s_bin"), np.array([results[n][k] for n in names]),
                   {"units": "MD energy" if k == "delta_e" else "1", "long_name": ln})
    scal = ("delta_e_range", "sigma_range", "arrhenius_p_value", "arrhenius_chi2_per_dof")
    for k in scal:
        data[k] = (("descriptor",), np.array([results[n][k] for n in names], float), {"units": "1", "long_name": k})
    for k in ("T0", "xi", "tau_alpha_log_error", "tau_alpha_log_error_err", "chi4_star_log_error",
              "chi4_star_log_error_err"):
        data[k] = (("descriptor",), np.array([float(results[n]["chain"].get(k, np.nan)) for n in names]),
                   {"units": "1", "long_name": f"{k} (measure -> compose -> compare)"})
    data["sign"] = (("descriptor",), np.array([results[n]["sign"] for n in names], np.int32),
                    {"long_name": "orientation: S = sign * standardised raw value"})
    data["chain_status"] = (("descriptor",), np.array([results[n]["chain"]["status"] for n in names], dtype=object),
                            {"long_name": "measure -> compose -> compare outcome"})
    rank, srank = ranking(results), structure_ranking(results)
    ds = xr.Dataset(data, coords={"descriptor": names, "temperature": temps, "s_bin": np.arange(nb)},
                    attrs={**provenance(), "title": "trsp descriptors assess", "ranking": " > ".join(r[0] for r in rank),
                           "ranking_basis": rank[0][2],
                           "ranking_structure": " > ".join(r[0] for r in srank), "ranking_structure_basis": srank[0][2]})
    out = Path(out)
    paths = {"netcdf": write_dataset(ds, out / "assess.nc")}
    lines = ["# Descriptor assessment", "",
             f"Temperatures: {', '.join(f'{t:g}' for t in temps)}. S standardised over all files, "
             "species-wise; statistics on the analysed species' valid particle-frames.", "",
             "| descriptor | sign | skewness (± block SE) | excess kurtosis (± block SE) | ROC AUC (± block SE) | "
             "gamma = dlnP/dS | P(R|S) top/bottom | DeltaE range | Sigma range | Arrhenius chi2/dof | T0 | xi | "
             "rms ln(model/MD) tau_alpha | rms ln(model/MD) chi4* | chain |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    f = lambda v, p=3: "n/a" if v is None or not np.isfinite(v) else f"{v:.{p}g}"  # noqa: E731
    for n in names:
        r, c = results[n], results[n]["chain"]
        pm = lambda k, src=r: f"{f(np.nanmean(src[k]))} ± {f(_mean_err(src.get(k + '_err')), 2)}"  # noqa: E731
        cm = lambda k: f"{f(c.get(k, np.nan))} ± {f(c.get(k + '_err', np.nan), 2)}"  # noqa: E731
        lines.append(f"| {n} | {r['sign']:+d} | {pm('skewness')} | {pm('excess_kurtosis')} | "
                     f"{f(np.nanmean(r['roc_auc']))} ± {f(np.nanmean(r['roc_auc_err']), 2)} | "
                     f"{f(np.nanmean(r['gamma']))} | {f(np.mean(r['contrast']))} | "
                     f"{f(r['delta_e_range'])} | {f(r['sigma_range'])} | {f(r['arrhenius_chi2_per_dof'])} | "
                     f"{f(c.get('T0', np.nan))} | {f(c.get('xi', np.nan))} | {cm('tau_alpha_log_error')}"
                     f" | {cm('chi4_star_log_error')} | {c['status']} |")
    lines += ["", f"Ranking ({rank[0][2]}): " + " > ".join(f"{n} ({f(s)})" for n, s, _ in rank), ""]
    if rank[0][2] != srank[0][2]:
        lines += [f"Ranking ({srank[0][2]}): " + " > ".join(f"{n} ({f(s)})" for n, s, _ in srank), ""]
    lines += ["The scores' errors are in the table: differences smaller than them do not rank.",
              "Per-temperature values are averaged over temperatures in this table; assess.nc has them per T."]
    atomic_write_text(out / "assess.md", "\n".join(lines) + "\n")
    paths["report"] = out / "assess.md"
    if figures:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        # one panel per descriptor (P(R|S) per temperature, one colour scale for T), then the shape
        ncol = min(4, len(names) + 1)
        nrow = -(-(len(names) + 1) // ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(3.4 * ncol, 3.0 * nrow), squeeze=False)
        axes = axes.ravel()
        cmap = plt.get_cmap("viridis")
        tnorm = (np.asarray(temps, float) - min(temps)) / max(max(temps) - min(temps), 1e-12)
        for ax, n in zip(axes, names):
            r = results[n]
            for i, T in enumerate(temps):
                ax.errorbar(r["bin_s"][i], r["p"][i], r["p_err"][i], marker="o", ms=3, lw=1,
                            color=cmap(0.9 * tnorm[i]), label=f"T={T:g}")
            ax.set(yscale="log", title=f"{n} (ROC AUC {np.nanmean(r['roc_auc']):.3f})",
                   xlabel="S (standardised, oriented)", ylabel="P(R|S) [1/frame]")
        axes[0].legend(fontsize=7)
        ax = axes[len(names)]
        x = np.arange(len(names))
        ax.bar(x - 0.2, [np.mean(results[n]["skewness"]) for n in names], 0.4, label="skewness")
        ax.bar(x + 0.2, [np.mean(results[n]["excess_kurtosis"]) for n in names], 0.4, label="excess kurtosis")
        ax.set_xticks(x, names, rotation=30, fontsize=8)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_title("Gaussianity")
        ax.legend(fontsize=8)
        for extra in axes[len(names) + 1:]:
            extra.set_visible(False)
        fig.tight_layout()
        from trsp_core.io.atomic import atomic_path

        with atomic_path(out / "fig_assess.png") as tmp:
            fig.savefig(tmp, format="png", dpi=120)
        plt.close(fig)
        paths["figure"] = out / "fig_assess.png"
    return paths
