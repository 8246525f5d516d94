"""Trajectory readers and the netCDF layout, on files the tests write."""
import numpy as np
import pytest

from trsp_core.md.mdio import (Trajectory, read_gsd, read_lammps_dump, read_netcdf,
                              read_trajectory, write_netcdf)
from trsp_core.errors import InputFileError, ParameterError


def _write_gsd(path, positions, images, typeid, box, steps, soft=None, dim=3):
    import gsd.hoomd

    with gsd.hoomd.open(str(path), "w") as f:
        for k, step in enumerate(steps):
            fr = gsd.hoomd.Frame()
            fr.configuration.step = step
            fr.configuration.dimensions = dim
            fr.configuration.box = [*box, 0, 0, 0]
            fr.particles.N = len(typeid)
            fr.particles.types = ["A", "B"]
            fr.particles.typeid = typeid
            fr.particles.position = positions[k]
            fr.particles.image = images[k]
            if soft is not None:
                fr.log["particles/softness"] = soft[k]
            f.append(fr)


def test_gsd_round_trip_with_images_and_logged_column(tmp_path):
    rng = np.random.default_rng(3)
    box = [6.0, 7.0, 8.0]
    unwrapped = rng.uniform(-10, 20, size=(4, 5, 3))
    images = np.floor((unwrapped + np.array(box) / 2) / box).astype(np.int32)
    wrapped = (unwrapped - images * box).astype(np.float32)
    soft = rng.normal(size=(4, 5)).astype(np.float32)
    typeid = np.array([0, 1, 0, 0, 1], dtype=np.uint32)
    path = tmp_path / "t.gsd"
    _write_gsd(path, wrapped, images, typeid, box, steps=[0, 50, 100, 150], soft=soft)
    traj = read_gsd(path)
    assert traj.positions.shape == (4, 5, 3)
    np.testing.assert_allclose(traj.positions, unwrapped, atol=1e-5)   # float32 in the file
    assert traj.types.tolist() == [0, 1, 0, 0, 1]
    assert traj.box.tolist() == box
    assert traj.dt == 50.0
    np.testing.assert_array_equal(traj.columns["softness"], soft)
    assert read_gsd(path, dt=0.25).dt == 0.25
    assert read_trajectory(path).n_frames == 4


def test_gsd_2d(tmp_path):
    pos = np.zeros((2, 3, 3), dtype=np.float32)
    pos[..., :2] = np.random.default_rng(1).uniform(-2, 2, size=(2, 3, 2))
    path = tmp_path / "two.gsd"
    _write_gsd(path, pos, np.zeros((2, 3, 3), np.int32), np.zeros(3, np.uint32), [5.0, 5.0, 0.0], [0, 1], dim=2)
    traj = read_gsd(path)
    assert traj.dim == 2 and traj.box.tolist() == [5.0, 5.0]
    np.testing.assert_array_equal(traj.positions, pos[..., :2])


def test_unreadable_gsd_names_file(tmp_path):
    bad = tmp_path / "broken.gsd"
    bad.write_bytes(b"not a gsd file at all")
    with pytest.raises(InputFileError, match="broken.gsd"):
        read_gsd(bad)


DUMP = """ITEM: TIMESTEP
{step}
ITEM: NUMBER OF ATOMS
3
ITEM: BOX BOUNDS pp pp pp
-1.0 9.0
0.0 10.0
2.0 12.0
ITEM: ATOMS id type x y z ix iy iz c_soft
{rows}"""


def _dump_text(frames):
    return "".join(DUMP.format(step=s, rows="".join(r + "\n" for r in rows)) for s, rows in frames)


def test_lammps_dump_custom_columns_sorted_unwrapped(tmp_path):
    path = tmp_path / "traj.lammpstrj"
    path.write_text(_dump_text([
        (0, ["2 1 1.5 2.5 3.5 0 0 1 0.25", "1 2 0.5 0.5 2.5 0 0 0 -1.5", "3 1 8.5 9.5 11.5 0 0 0 2.0"]),
        (20, ["1 2 0.6 0.5 2.5 0 0 0 -1.0", "3 1 -0.5 9.5 11.5 1 0 0 2.5", "2 1 1.5 2.6 3.5 0 0 1 0.5"]),
    ]))
    traj = read_lammps_dump(path)
    assert traj.types.tolist() == [1, 0, 0]                       # LAMMPS type 2 -> 1
    assert traj.box.tolist() == [10.0, 10.0, 10.0]
    assert traj.dt == 20.0
    # Sorted by id, shifted so the box starts at 0, image flags applied.
    np.testing.assert_allclose(traj.positions[0], [[1.5, 0.5, 0.5], [2.5, 2.5, 11.5], [9.5, 9.5, 9.5]])
    np.testing.assert_allclose(traj.positions[1, 2], [10.5, 9.5, 9.5])
    np.testing.assert_allclose(traj.columns["c_soft"], [[-1.5, 0.25, 2.0], [-1.0, 0.5, 2.5]])
    assert set(traj.columns) == {"c_soft"}
    assert read_trajectory(path, dt=0.1).dt == 0.1


def test_lammps_dump_missing_column_is_named(tmp_path):
    path = tmp_path / "nocoords.dump"
    path.write_text(_dump_text([(0, ["1 1 0 0 0 0 0 0 0"] * 3)]).replace("x y z", "q r s"))
    with pytest.raises(InputFileError, match=r"nocoords.dump.*coordinate"):
        read_lammps_dump(path)
    path2 = tmp_path / "notype.dump"
    path2.write_text(_dump_text([(0, ["1 1 0 0 0 0 0 0 0"] * 3)]).replace("id type", "id kind"))
    with pytest.raises(InputFileError, match=r"notype.dump.*'type'"):
        read_lammps_dump(path2)


def test_lammps_dump_binary_garbage(tmp_path):
    path = tmp_path / "garbage.dump"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputFileError, match="garbage.dump"):
        read_lammps_dump(path)


def _traj(dim=3, with_cols=True):
    rng = np.random.default_rng(8)
    cols = {"descriptor": rng.normal(size=(3, 4)), "phop": rng.random((3, 4))} if with_cols else {}
    return Trajectory(positions=rng.uniform(0, 5, size=(3, 4, dim)), types=[0, 1, 0, 0],
                      box=[5.0] * dim, dt=0.5, columns=cols, temperature=0.47)


@pytest.mark.parametrize("dim", [2, 3])
def test_netcdf_round_trip(tmp_path, dim):
    t = _traj(dim)
    path = write_netcdf(t, tmp_path / "sub" / "out.nc")
    back = read_netcdf(path)
    np.testing.assert_array_equal(back.positions, t.positions)
    np.testing.assert_array_equal(back.types, t.types)
    np.testing.assert_array_equal(back.box, t.box)
    assert back.dt == 0.5 and back.temperature == 0.47
    for name in ("descriptor", "phop"):
        np.testing.assert_array_equal(back.columns[name], t.columns[name])
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["out.nc"]   # no temp file left


def test_netcdf_layout_is_the_documented_one(tmp_path):
    import xarray as xr

    path = write_netcdf(_traj(), tmp_path / "l.nc")
    with xr.open_dataset(path) as ds:
        assert ds["position"].dims == ("frame", "particle", "dim")
        assert ds["type"].dims == ("particle",)
        assert ds["descriptor"].dims == ds["phop"].dims == ("frame", "particle")
        assert {"box", "dt", "temperature"} <= set(ds.attrs)


def test_netcdf_missing_field_is_named(tmp_path):
    import xarray as xr

    path = write_netcdf(_traj(with_cols=False), tmp_path / "m.nc")
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    ds.drop_vars("type").to_netcdf(tmp_path / "notype.nc")
    with pytest.raises(InputFileError, match=r"notype.nc.*'type'"):
        read_netcdf(tmp_path / "notype.nc")
    ds2 = ds.copy()
    del ds2.attrs["dt"]
    ds2.to_netcdf(tmp_path / "nodt.nc")
    with pytest.raises(InputFileError, match=r"nodt.nc.*'dt'"):
        read_netcdf(tmp_path / "nodt.nc")
    with pytest.raises(InputFileError, match="absent.nc"):
        read_trajectory(tmp_path / "absent.nc")


def test_trajectory_validates_shapes():
    with pytest.raises(ParameterError, match="types"):
        Trajectory(positions=np.zeros((2, 3, 3)), types=[0, 1], box=[1, 1, 1])
    with pytest.raises(ParameterError, match="column 'phop'"):
        Trajectory(positions=np.zeros((2, 3, 3)), types=[0, 1, 0], box=[1, 1, 1], columns={"phop": np.zeros((3, 2))})
    t = _traj()
    with pytest.raises(ValueError):
        t.positions[0, 0, 0] = 1.0          # frozen arrays
