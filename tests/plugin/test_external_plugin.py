"""A plugin distribution installed outside this repo appears through its entry points.

The test writes a real distribution (package + .dist-info with entry_points.txt)
into a temporary directory put on the path, exactly what pip would leave in
site-packages, and drives the CLI in a subprocess.
"""
import json

from fake_distribution import install, run_trsp

PLUGIN = '''
"""A toy third-party plugin: a descriptor, a cluster rule and an observable."""
import xarray as xr
from trsp_core import hookimpl
from trsp_core.plugin.interfaces import Descriptor, Observable, OffsetClusterRule
from trsp_core.physics.params import DescriptorParams, read_params_toml


class Toy(Descriptor):
    name = "toy"
    description = "weakly correlated toy descriptor"

    def parameters(self, params_file=None):
        base = DescriptorParams(name="toy", C1=0.3, s1=0.3)
        return read_params_toml(params_file, base) if params_file else base


class EventCount(Observable):
    name = "event-count"

    def compute(self, model, runs):
        return xr.Dataset({"toy_events": ((), sum(r.n_events for r in runs),
                                          {"units": "1", "long_name": "events in all runs"})})


@hookimpl
def trsp_descriptors():
    return {"toy": Toy()}


@hookimpl
def trsp_cluster_rules():
    return {"corner": OffsetClusterRule("corner", {3: [[[0, 0, 0], [1, 0, 0], [0, 1, 0]]]})}


@hookimpl
def trsp_observables():
    return {"event-count": EventCount}
'''


def _install_fake_distribution(root):
    install(root, "toy_trsp_plugin", PLUGIN, "toy")



def test_external_plugin_listed_and_usable(tmp_path):
    _install_fake_distribution(tmp_path)
    p = run_trsp(["plugins", "--json"], tmp_path)
    assert p.returncode == 0, p.stderr
    listing = json.loads(p.stdout)
    assert "toy" in listing["descriptor"] and "corner" in listing["cluster"]
    assert "event-count" in listing["observable"]
    out = tmp_path / "toy.nc"
    p = run_trsp(["compose", "--descriptor", "toy", "--cluster", "corner", "--size", "4", "--seeds", "1",
              "--duration", "200", "--temperature", "0.6", "--backend", "reference",
              "--observables", "overlap,event-count", "--out", str(out), "--json"], tmp_path)
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    import xarray as xr

    with xr.open_dataset(out) as ds:
        assert int(ds["toy_events"]) == summary["events"] > 0
        assert ds.attrs["plugin_descriptor"] == "toy" and ds.attrs["plugin_cluster"] == "corner"


def test_without_the_distribution_it_is_unknown(tmp_path):
    p = run_trsp(["compose", "--descriptor", "toy"], tmp_path)
    assert p.returncode != 0 and "unknown descriptor plugin 'toy'" in p.stderr


BROKEN = {
    # import fails
    "broken_import": "raise ImportError('needs a library that is not installed')\n",
    # a hook raises when called
    "broken_hook": ("from trsp_core import hookimpl\n\n@hookimpl\ndef trsp_descriptors():\n"
                    "    raise RuntimeError('cannot read my data file')\n"),
    # takes a built-in name
    "name_clash": ("from trsp_core import hookimpl\n\n@hookimpl\ndef trsp_lattices():\n"
                   "    return {'cubic': lambda size, spacing: None}\n"),
}


def _install_broken(root):
    for mod, code in BROKEN.items():
        (root / f"{mod}.py").write_text(code)
        dist = root / f"{mod}-0.1.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {mod.replace('_', '-')}\nVersion: 0.1\n")
        (dist / "entry_points.txt").write_text(f"[trsp]\n{mod} = {mod}\n")
        (dist / "RECORD").write_text("")


def test_broken_third_party_plugins_are_skipped_with_a_warning(tmp_path):
    """A third-party plugin that fails to import, raises in its hook or reuses a taken
    name is skipped with one warning line naming it and its distribution; the
    built-ins, and the well-behaved toy plugin installed beside them, keep working."""
    _install_fake_distribution(tmp_path)
    _install_broken(tmp_path)
    p = run_trsp(["plugins", "--json"], tmp_path)
    assert p.returncode == 0, p.stderr
    listing = json.loads(p.stdout)
    assert "toy" in listing["descriptor"] and "softness-kalj" in listing["descriptor"]
    assert "Traceback" not in p.stderr
    for mod, why in (("broken_import", "needs a library that is not installed"),
                     ("broken_hook", "cannot read my data file"),
                     ("name_clash", "'cubic' is already taken")):
        line = next((ln for ln in p.stderr.splitlines() if f"'{mod}'" in ln), "")
        assert line.startswith("trsp: warning:") and why in line, p.stderr
        assert f"distribution {mod.replace('_', '-')}" in line
    out = tmp_path / "c.nc"
    p = run_trsp(["compose", "--size", "4", "--seeds", "1", "--duration", "100", "--temperature", "0.6",
              "--out", str(out), "--json"], tmp_path)
    assert p.returncode == 0, p.stderr
    import xarray as xr

    with xr.open_dataset(out) as ds:  # the built-in cubic lattice, not the clashing one
        assert ds.attrs["plugin_lattice"] == "cubic" and ds.sizes["site"] == 64
