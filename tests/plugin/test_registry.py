"""The registry on its own (no entry points): names, clashes, failures, descriptions."""
import types

import pytest

import plugins.clusters
from trsp_core import hookimpl
from trsp_core.errors import PluginError
from trsp_core.plugin.registry import PluginWarning, Registry


def _module(name, **hooks):
    mod = types.ModuleType(name)
    for hook, fn in hooks.items():
        setattr(mod, hook, hookimpl(fn))
    return mod


def test_names_get_and_unknown():
    reg = Registry(load_entrypoints=False)
    reg.register(plugins.clusters, name="clusters")
    assert reg.listing()["cluster"] == ["bond", "plaquette", "single", "tetrahedron", "triangle"]
    assert reg.listing()["lattice"] == []
    assert reg.get("cluster", "bond") is plugins.clusters.BOND
    with pytest.raises(PluginError, match="unknown cluster plugin 'x'; known cluster plugins: bond, plaquette, single, tetrahedron, triangle"):
        reg.get("cluster", "x")
    with pytest.raises(PluginError, match="known lattice plugins: \\(none\\)"):
        reg.get("lattice", "cubic")


def test_a_clash_keeps_the_first_and_warns():
    reg = Registry(load_entrypoints=False)
    reg.register(plugins.clusters, name="clusters")
    reg.register(_module("other", trsp_cluster_rules=lambda: {"bond": plugins.clusters.PLAQUETTE, "ring": plugins.clusters.SINGLE}), name="other")
    with pytest.warns(PluginWarning, match="'bond' is already taken by plugin 'clusters'"):
        names = reg.names("cluster")
    assert "ring" in names and reg.get("cluster", "bond") is plugins.clusters.BOND
    assert [f.plugin for f in reg.failures] == ["other"]


def test_a_raising_hook_is_skipped_alone():
    def boom():
        raise RuntimeError("no data")

    reg = Registry(load_entrypoints=False)
    reg.register(plugins.clusters, name="clusters")
    reg.register(_module("bad", trsp_cluster_rules=boom), name="bad", distribution="bad-dist")
    with pytest.warns(PluginWarning, match=r"'bad' \(distribution bad-dist\) skipped: hook trsp_cluster_rules raised"):
        assert reg.names("cluster") == ["bond", "plaquette", "single", "tetrahedron", "triangle"]


def test_describe_gives_description_and_distribution():
    reg = Registry(load_entrypoints=False)
    reg.register(plugins.clusters, name="clusters", distribution="trsp")
    (single,) = [d for d in reg.describe()["cluster"] if d["name"] == "single"]
    assert single == {"name": "single", "description": "one site (m = 1, z = 1)", "distribution": "trsp",
                      "plugin": "clusters"}


def test_default_registry_has_every_builtin():
    from trsp_core.plugin.registry import default_registry

    listing = default_registry().listing()
    assert {"softness-kalj", "gaussian", "trap"} <= set(listing["descriptor"])
    assert {"cubic", "square"} <= set(listing["lattice"]) and "arrhenius" in listing["rate"]
    assert {"overlap", "s4", "block-chi4", "statics", "rate-law", "detailed-balance", "softness-change"} <= set(
        listing["observable"])


def test_an_object_that_breaks_the_contract_is_skipped():
    reg = Registry(load_entrypoints=False)
    reg.register(_module("odd", trsp_cluster_rules=lambda: {"blob": 42}, trsp_lattices=lambda: {"hex": "nope"}),
                 name="odd")
    with pytest.warns(PluginWarning) as record:
        assert reg.names("cluster") == []
    messages = sorted(str(w.message) for w in record)
    assert "cluster plugin 'blob' is not an object with orientations" in messages[0]
    assert "lattice plugin 'hex' is not a factory" in messages[1]
    assert reg.names("lattice") == [] and len(reg.failures) == 2
