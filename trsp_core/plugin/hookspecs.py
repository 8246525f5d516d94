"""pluggy hook specifications: one small hook per kind of plugin.

A plugin module implements any of these with ``@trsp_core.hookimpl`` and is
announced through the ``trsp`` entry-point group of its distribution::

    [project.entry-points.trsp]
    myplugin = "mypackage.trsp_plugin"

Each hook returns a mapping ``{name: object}``; names must be unique per kind.
"""
import pluggy

hookspec = pluggy.HookspecMarker("trsp")
hookimpl = pluggy.HookimplMarker("trsp")


@hookspec
def trsp_lattices():
    """Return {name: factory(size: int, spacing: float) -> Lattice}."""


@hookspec
def trsp_descriptors():
    """Return {name: Descriptor instance}."""


@hookspec
def trsp_cluster_rules():
    """Return {name: ClusterRule instance}."""


@hookspec
def trsp_rate_laws():
    """Return {name: RateLaw instance}."""


@hookspec
def trsp_observables():
    """Return {name: Observable class or zero-argument factory}."""
