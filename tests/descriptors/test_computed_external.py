"""A third-party computed descriptor needs only its plugin: a throw-away distribution
(package + .dist-info with a ``trsp`` entry point, what pip would install) adds one,
and `trsp descriptors list|compute` run it like a built-in, in a subprocess."""
import json

from fake_distribution import install, run_trsp

import numpy as np

PLUGIN = '''
"""A toy third-party structural descriptor: neighbours within r_max (brute force)."""
import attrs
import numpy as np
from trsp_core import hookimpl
from trsp_core.plugin.interfaces import ComputedDescriptor


@attrs.frozen
class CountParams:
    r_max: float = attrs.field(default=1.4, converter=float)


class NeighbourCount(ComputedDescriptor):
    name = "neighbour-count"
    description = "number of neighbours within r_max (toy); S = -count standardised"
    Params = CountParams
    sign = -1
    libraries = ()

    def compute_frame(self, box, positions, types):
        d = positions[None] - positions[:, None]
        d -= box * np.round(d / box)
        r = np.sqrt((d ** 2).sum(-1))
        return ((r < self.params.r_max).sum(1) - 1).astype(float)


@hookimpl
def trsp_structural_descriptors():
    return {"neighbour-count": NeighbourCount}
'''


def _install(root):
    install(root, "toy_structural", PLUGIN, "toy_structural")



def test_third_party_descriptor_runs_through_compute_and_assess(tmp_path):
    from trsp_core.md.mdio import Trajectory, read_netcdf, read_trajectory, write_netcdf

    _install(tmp_path)
    p = run_trsp(["descriptors", "list", "--json"], tmp_path)
    assert p.returncode == 0, p.stderr
    rows = {r["name"]: r for r in json.loads(p.stdout)}
    assert rows["neighbour-count"]["distribution"] == "toy-structural" and rows["neighbour-count"]["sign"] == -1
    assert {"q6", "w6", "voronoi-volume", "s2", "fivefold", "softness"} <= set(rows)

    ka = read_trajectory("tests/fixtures/ka/ka_T055.npz")
    src = write_netcdf(Trajectory(positions=ka.positions[:12], types=ka.types, box=ka.box, dt=ka.dt,
                                  temperature=ka.temperature), tmp_path / "t.nc")
    out = tmp_path / "nc.nc"
    p = run_trsp(["descriptors", "compute", "neighbour-count", str(src), "--param", "r_max=1.3", "--out", str(out)],
             tmp_path)
    assert p.returncode == 0, p.stderr
    back = read_netcdf(out)
    s = back.columns["descriptor"]
    d = ka.positions[0][None] - ka.positions[0][:, None]
    d -= ka.box * np.round(d / ka.box)
    count = (np.sqrt((d ** 2).sum(-1)) < 1.3).sum(1) - 1
    a = ka.types == 0
    # S = -(count - mean_A) / std_A on species A: ordering reversed, exactly linear in the count
    slope, icpt = np.polyfit(count[a], s[0, a], 1)
    assert slope < 0 and np.allclose(s[0, a], slope * count[a] + icpt)
    assert abs(s[:, a].mean()) < 1e-9 and np.isfinite(back.columns["phop"][5:7]).all()

    p = run_trsp(["descriptors", "assess", str(src), "--descriptor", "neighbour-count", "--descriptor", "q6",
              "--param", "neighbour-count.r_max=1.3", "--out", str(tmp_path / "assess"), "--no-figures"], tmp_path)
    assert p.returncode == 0, p.stderr
    import xarray as xr

    with xr.open_dataset(tmp_path / "assess" / "assess.nc") as ds:
        assert list(ds.descriptor.values) == ["neighbour-count", "q6"]
        assert int(ds.sign.sel(descriptor="neighbour-count")) == -1
        assert np.isfinite(ds.roc_auc.sel(descriptor="neighbour-count").values).all()


def test_without_the_distribution_it_is_unknown(tmp_path):
    p = run_trsp(["descriptors", "compute", "neighbour-count", "x.nc", "--out", str(tmp_path / "o.nc")], tmp_path)
    assert p.returncode == 2 and "unknown structural plugin 'neighbour-count'" in p.stderr
