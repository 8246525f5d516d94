"""Per-temperature input of the pipeline: positions, descriptor, rearranging flags.

Everything downstream works on :class:`TemperatureData` (one species already
selected). It is built either from an MD trajectory file (through
``trsp_core.md.mdio``; flags from a stored or computed p_hop) or directly from
arrays, e.g. boolean flags from a TRSP simulation (``measure.synthetic``).
"""
from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np

from trsp_core.errors import ParameterError
from trsp_core.measure.diagnostics import MeasureError
from trsp_core.measure.options import MeasureOptions


@attrs.frozen(eq=False)
class TemperatureData:
    """One temperature: F frames of N particles (one species) at a fixed frame interval.

    ``positions`` is (F, N, d), or (N, d) when particles do not move (lattice
    data). ``valid`` marks frames where the flags are defined (p_hop's window
    fits); only those enter the statistics.
    """

    temperature: float = attrs.field(converter=float)
    positions: np.ndarray = attrs.field(converter=lambda v: np.asarray(v, float))
    box: np.ndarray = attrs.field(converter=lambda v: np.asarray(v, float))
    descriptor: np.ndarray = attrs.field(converter=lambda v: np.asarray(v, float))
    rearranging: np.ndarray = attrs.field(converter=lambda v: np.asarray(v, bool))
    valid: np.ndarray | None = attrs.field(default=None)
    source: str = attrs.field(default="<arrays>", converter=str)
    # Independent runs at one T concatenated along frames (see :func:`concat`).
    segment: np.ndarray | None = attrs.field(default=None)
    # MD time between frames (the trajectory's dt); written to params.toml as frame_dt.
    dt: float = attrs.field(default=1.0, converter=float)

    def __attrs_post_init__(self):
        F, N = self.descriptor.shape if self.descriptor.ndim == 2 else (None, None)
        where = f"data '{self.source}'"
        if F is None:
            raise MeasureError(f"{where}: field 'descriptor' must be (frames, particles), got shape {self.descriptor.shape}")
        if not (np.isfinite(self.temperature) and self.temperature > 0):
            raise MeasureError(f"{where}: temperature must be finite and > 0, got {self.temperature!r} "
                               "(set the netCDF attribute 'temperature' or pass it explicitly)")
        if self.rearranging.shape != (F, N):
            raise MeasureError(f"{where}: rearranging flags have shape {self.rearranging.shape}, expected {(F, N)}")
        pos = self.positions
        if not (pos.shape[:-1] == (F, N) or pos.shape[:-1] == (N,)):
            raise MeasureError(f"{where}: positions have shape {pos.shape}, expected ({F}, {N}, d) or ({N}, d)")
        if self.box.shape != (pos.shape[-1],) or not np.all(self.box > 0):
            raise MeasureError(f"{where}: box must be {pos.shape[-1]} positive lengths, got {self.box.tolist()}")
        if self.valid is None:
            object.__setattr__(self, "valid", np.ones(F, bool))
        object.__setattr__(self, "valid", np.asarray(self.valid, bool))
        if self.valid.shape != (F,):
            raise MeasureError(f"{where}: 'valid' must be ({F},) booleans")
        if self.segment is None:
            object.__setattr__(self, "segment", np.zeros(F, np.int64))
        if not np.all(np.isfinite(self.descriptor[self.valid])):
            raise MeasureError(f"{where}: field 'descriptor' has non-finite values in valid frames")
        if F < 3:
            raise MeasureError(f"{where}: need at least 3 frames, got {F}")

    @property
    def n_segments(self) -> int:
        return int(np.unique(self.segment).size)

    @property
    def n_frames(self) -> int:
        return self.descriptor.shape[0]

    @property
    def n_particles(self) -> int:
        return self.descriptor.shape[1]

    @property
    def static(self) -> bool:
        return self.positions.ndim == 2

    def frame_positions(self, f: int) -> np.ndarray:
        return self.positions if self.static else self.positions[f]


def flags_from_phop(p: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(rearranging flags, valid frames): p_hop > threshold; frames with any NaN are invalid."""
    p = np.asarray(p, float)
    valid = np.all(np.isfinite(p), axis=1)
    with np.errstate(invalid="ignore"):
        flags = np.where(np.isfinite(p), p > threshold, False)
    return flags, valid


def from_trajectory(traj, options: MeasureOptions, *, temperature: float | None = None,
                    source: str = "<trajectory>") -> TemperatureData:
    """Build :class:`TemperatureData` from a ``trsp_core.md.mdio.Trajectory``.

    Flags come from the trajectory's ``phop`` column if present, else p_hop is
    computed from the positions with ``options.phop_window``.
    """
    if "descriptor" not in traj.columns:
        raise MeasureError(f"'{source}': missing field 'descriptor' (per-particle descriptor value per frame)")
    T = traj.temperature if temperature is None else temperature
    if T is None or not np.isfinite(T):
        raise MeasureError(f"'{source}': missing field 'temperature' (file attribute); pass the temperature explicitly")
    if "phop" in traj.columns:
        p = traj.columns["phop"]
    else:
        from trsp_core.md.phop import phop

        if traj.n_frames < options.phop_window + 1:
            raise MeasureError(
                f"'{source}': no field 'phop' and only {traj.n_frames} frames, fewer than the "
                f"p_hop window + 1 = {options.phop_window + 1}: cannot compute p_hop")
        p = phop(traj.positions, traj.box, options.phop_window)
    flags, valid = flags_from_phop(p, options.phop_threshold)
    sel = np.ones(traj.n_particles, bool) if options.species is None else traj.types == options.species
    if not sel.any():
        raise MeasureError(f"'{source}': no particles of species {options.species} (field 'type')")
    return TemperatureData(
        temperature=T, positions=traj.positions[:, sel], box=traj.box,
        descriptor=traj.columns["descriptor"][:, sel], rearranging=flags[:, sel], valid=valid, source=source,
        dt=traj.dt,
    )


def load(path, options: MeasureOptions, *, temperature: float | None = None, dt: float | None = None) -> TemperatureData:
    """Read one temperature's trajectory (GSD, LAMMPS dump or trsp netCDF) via ``trsp_core.md.mdio``."""
    from trsp_core.md import mdio

    path = Path(path)
    traj = mdio.read_trajectory(path, dt=dt)
    return from_trajectory(traj, options, temperature=temperature, source=str(path))


def check_frames(data: TemperatureData, need: int, what: str) -> None:
    if data.valid.sum() < need:
        raise ParameterError(f"data '{data.source}': {what} needs >= {need} valid frames, got {int(data.valid.sum())}")


def concat(replicas: list[TemperatureData]) -> TemperatureData:
    """Independent runs at one temperature as one data set.

    One invalid frame separates consecutive runs, so no rearrangement run or
    Delta S window spans two of them; ``segment`` says which run a frame is
    from (used for error bars: slow modes such as the q = 0 mode of S decorrelate
    only between independent runs).
    """
    if not replicas:
        raise MeasureError("concat: no data sets")
    r0 = replicas[0]
    for r in replicas[1:]:
        if r.temperature != r0.temperature or r.box.shape != r0.box.shape or r.n_particles != r0.n_particles:
            raise MeasureError(f"concat: '{r.source}' differs from '{r0.source}' in temperature, box or particle number")
        if r.static != r0.static:
            raise MeasureError("concat: cannot mix static (lattice) and moving positions")
        if not np.isclose(r.dt, r0.dt, rtol=1e-9):
            raise MeasureError(f"concat: '{r.source}' has frame spacing dt = {r.dt:g}, '{r0.source}' has {r0.dt:g}")
    N = r0.n_particles
    pad = lambda a, fill: np.concatenate([a, np.full((1,) + a.shape[1:], fill, a.dtype)])  # noqa: E731
    desc = np.concatenate([pad(r.descriptor, np.nan) for r in replicas])
    flags = np.concatenate([pad(r.rearranging, False) for r in replicas])
    valid = np.concatenate([pad(r.valid, False) for r in replicas])
    seg = np.concatenate([np.full(r.n_frames + 1, i) for i, r in enumerate(replicas)])
    if r0.static:
        pos = r0.positions
    else:
        pos = np.concatenate([np.concatenate([r.positions, r.positions[-1:]]) for r in replicas])
    del N
    return TemperatureData(temperature=r0.temperature, positions=pos, box=r0.box, descriptor=desc,
                           rearranging=flags, valid=valid, segment=seg, dt=r0.dt,
                           source=" + ".join(r.source for r in replicas))
