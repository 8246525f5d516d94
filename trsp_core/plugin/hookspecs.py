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
def trsp_structural_descriptors():
    """Return {name: factory(params) -> ComputedDescriptor}: descriptors computed from MD frames.

    Called once by the registry when the first structural descriptor is looked
    up (``trsp descriptors ...``, ``Registry.get("structural", name)``). A
    factory is usually the :class:`~trsp_core.plugin.interfaces.ComputedDescriptor`
    subclass itself; ``params`` is None (defaults), an instance of its ``Params``
    class or a mapping of field values (strings from the command line are
    converted). See docs/descriptors.md.
    """


@hookspec
def trsp_cluster_rules():
    """Return {name: ClusterRule instance}."""


@hookspec
def trsp_rate_laws():
    """Return {name: RateLaw instance}."""


@hookspec
def trsp_observables():
    """Return {name: Observable class or zero-argument factory}."""


@hookspec
def trsp_profile_kinds():
    """Return {kind: Profile class}: radial-profile kinds for C(r), s(r), rho(r).

    The class offers ``from_spec(spec: dict, where: str) -> Profile`` (validate every key
    of the TOML table, naming ``where`` in errors) and its instances ``__call__(r)``,
    ``to_spec()`` (the table back, with ``kind``), ``describe()``, and for a
    temperature-dependent form ``temperature_dependent = True`` and ``at(T)``. See
    :class:`trsp_core.physics.profiles.Profile` and docs/functional-forms.md.
    """
