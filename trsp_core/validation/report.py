"""Markdown report, JSON summary and netCDF data of a validation run."""
from __future__ import annotations

import json
from pathlib import Path

from trsp_core.io.atomic import atomic_write_text
from trsp_core.io import provenance, write_dataset


def _fmt(x) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def markdown(result, model, figures: dict[str, Path]) -> str:
    i = result.info
    lines = [
        "# trsp validation report", "",
        f"**Overall: {'PASS' if result.passed else 'FAIL'}**"
        + ("" if result.passed else f" (failed: {', '.join(result.failed())})"), "",
        f"Model: {model.names} at T = {model.temperature:g}, lattice {tuple(model.lattice.shape)}, "
        f"delta rule {model.delta_rule}, facilitation c = {model.facilitation:g}.  ",
        f"Simulation: {i['n_seeds']} seeds x {i['duration']:.4g} frames, {i['events']} events, backend {i['backend']}, "
        f"{i['wall_s']:.1f} s wall.  ",
        f"tau_alpha = {i['tau_alpha']:.4g} frames, chi4(tau_alpha) = {i['chi4_tau']:.4g}.", "",
        "## Checks", "",
        "A check passes when statistic <= threshold. Thresholds are derived from error bars at a "
        "family-wise false-alarm probability of 1e-3 per check (see docs/validation.md).", "",
        "| check | result | statistic | threshold | what is tested |",
        "|---|---|---|---|---|",
    ]
    for c in result.checks:
        lines.append(f"| {c.name} | {'pass' if c.passed else '**FAIL**'} | {c.statistic:.4g} | {c.threshold:.4g} | {c.description} |")
    lines += ["", "### Details", ""]
    for c in result.checks:
        lines.append(f"- **{c.name}**: " + ", ".join(f"{k} = {_fmt(v)}" for k, v in c.details.items()))
    s4, blk = result.datasets["s4"], result.datasets["block-chi4"]
    lines += [
        "", "## Dynamic length xi4 (reported, no target)", "",
        f"- Ornstein-Zernike fit of S4(q, tau_alpha): xi4 = {float(s4['xi4_oz']):.3g} ± {float(s4['xi4_oz_err']):.2g} "
        f"sigma_AA (bootstrap ± {float(s4['xi4_oz_err_boot']):.2g}), S4(0) = {float(s4['S4_zero']):.3g}",
        f"- Block chi4 scaling fit: xi4 = {float(blk['xi4_block']):.3g} ± {float(blk['xi4_block_err']):.2g} sigma_AA, "
        f"chi4(inf) = {float(blk['chi4_inf']):.3g}", "",
        "## Figures", "",
    ]
    for name, path in figures.items():
        lines += [f"### {name}", "", f"![{name}]({Path(path).name})", ""]
    return "\n".join(lines)


def write(result, model, out: Path, figures: dict[str, Path]) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "checks.json", json.dumps({**result.as_json(), "info": result.info}, indent=2, default=float))
    for name, ds in result.datasets.items():
        ds = ds.copy()
        ds.attrs = {**ds.attrs, **provenance(model, {"observable": name})}
        write_dataset(ds, out / f"obs_{name}.nc")
    path = out / "report.md"
    atomic_write_text(path, markdown(result, model, figures))
    return path
