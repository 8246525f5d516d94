"""Plugin discovery: a pluggy manager fed from the ``trsp`` entry-point group.

One broken third-party plugin must not take the tool down: a plugin module that
fails to import, a hook that raises, or a name that is already taken is skipped
with a warning naming the plugin and its distribution (``Registry.failures``
keeps the list). The built-in plugins (distribution ``trsp``) load first, so
their names always win.
"""
from __future__ import annotations

import functools
import warnings
from importlib.metadata import entry_points

import attrs
import pluggy

from trsp_core.errors import ParameterError, PluginError
from trsp_core.physics import profiles
from trsp_core.plugin import hookspecs

KINDS = {
    "descriptor": "trsp_descriptors",
    "structural": "trsp_structural_descriptors",
    "lattice": "trsp_lattices",
    "cluster": "trsp_cluster_rules",
    "rate": "trsp_rate_laws",
    "observable": "trsp_observables",
    "profile": "trsp_profile_kinds",
}

#: the distribution this package is installed as (its plugins are the built-ins)
OWN_DISTRIBUTION = "trsp"


#: what an object registered under each kind must offer (duck-typed: subclassing
#: the interface is recommended, not required)
_CONTRACT = {
    "descriptor": ("an object with a parameters(params_file) method", lambda o: callable(getattr(o, "parameters", None))),
    "structural": ("a factory(params) -> ComputedDescriptor (e.g. the class)",
                   lambda o: callable(o) and (not isinstance(o, type) or callable(getattr(o, "raw", None)))),
    "lattice": ("a factory(size, spacing) -> Lattice", callable),
    "cluster": ("an object with orientations(lattice) and m",
                lambda o: callable(getattr(o, "orientations", None)) and hasattr(o, "m")),
    "rate": ("an object with an observed(params, temperature) method", lambda o: callable(getattr(o, "observed", None))),
    "observable": ("a class or factory whose instances have compute(model, runs)",
                   lambda o: callable(o) and callable(getattr(o, "compute", None))),
    "profile": ("a Profile class with from_spec(spec, where)", lambda o: callable(getattr(o, "from_spec", None))),
}


class PluginWarning(UserWarning):
    """A plugin was skipped (it failed to load, raised, or reused a taken name)."""


@attrs.frozen
class PluginInfo:
    """One named plugin: where it came from and what it is."""

    kind: str
    name: str
    obj: object = attrs.field(repr=False)
    plugin: str           # pluggy plugin name (the entry point's name)
    distribution: str     # the distribution that provides it ("" when registered from Python)

    @property
    def description(self) -> str:
        text = getattr(self.obj, "description", None)
        if not isinstance(text, str) or not text:
            doc = getattr(self.obj, "__doc__", None) or getattr(type(self.obj), "__doc__", None) or ""
            text = doc.strip().splitlines()[0] if doc.strip() else ""
        return text


@attrs.frozen
class PluginFailure:
    plugin: str
    distribution: str
    error: str

    def __str__(self) -> str:
        where = f" (distribution {self.distribution})" if self.distribution else ""
        return f"trsp plugin '{self.plugin}'{where} skipped: {self.error}"


def _ordered_entry_points():
    eps = list(entry_points(group="trsp"))
    dist = lambda ep: ep.dist.name if ep.dist is not None else ""  # noqa: E731
    return sorted(eps, key=lambda ep: (dist(ep) != OWN_DISTRIBUTION, dist(ep), ep.name))


class Registry:
    """Named plugins of every kind, collected from all registered hook implementations."""

    def __init__(self, load_entrypoints: bool = True):
        self.pm = pluggy.PluginManager("trsp")
        self.pm.add_hookspecs(hookspecs)
        self.failures: list[PluginFailure] = []
        self._distribution: dict[str, str] = {}
        self._order: list[str] = []
        if load_entrypoints:
            seen = set()
            for ep in _ordered_entry_points():
                dist = ep.dist.name if ep.dist is not None else ""
                if (ep.name, ep.value) in seen:  # the same distribution found twice on the path
                    continue
                seen.add((ep.name, ep.value))
                try:
                    plugin = ep.load()
                except Exception as exc:  # noqa: BLE001 - any import failure of a plugin is isolated
                    self._fail(ep.name, dist, f"import of {ep.value} failed: {type(exc).__name__}: {exc}")
                    continue
                self.register(plugin, name=ep.name, distribution=dist)

    def _fail(self, plugin: str, distribution: str, error: str) -> None:
        failure = PluginFailure(plugin, distribution, error)
        self.failures.append(failure)
        warnings.warn(str(failure), PluginWarning, stacklevel=3)

    def register(self, plugin, name: str | None = None, distribution: str = "") -> None:
        """Register a module or object with hookimpls (the Python route, no entry point).

        Registering the same object again is a no-op; another object under a name
        already in use is an error.
        """
        if self.pm.is_registered(plugin):
            return
        if name is not None and self.pm.get_plugin(name) is not None:
            raise PluginError(f"a trsp plugin named '{name}' is already registered")
        try:
            self.pm.register(plugin, name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            self._fail(name or repr(plugin), distribution, f"not a valid trsp plugin: {exc}")
            return
        pname = self.pm.get_name(plugin)
        self._distribution[pname] = distribution
        self._order.append(pname)
        self.__dict__.pop("_tables", None)

    @functools.cached_property
    def _tables(self) -> dict[str, dict[str, PluginInfo]]:
        tables: dict[str, dict[str, PluginInfo]] = {kind: {} for kind in KINDS}
        broken: set[str] = set()
        for pname in self._order:
            plugin = self.pm.get_plugin(pname)
            dist = self._distribution.get(pname, "")
            for kind, hook in KINDS.items():
                # Call each implementation on its own so a failure or clash names its plugin.
                impls = [i for i in getattr(self.pm.hook, hook).get_hookimpls() if i.plugin is plugin]
                for impl in impls:
                    if pname in broken:
                        continue
                    try:
                        result = dict(impl.function() or {})
                    except Exception as exc:  # noqa: BLE001 - a raising hook is isolated
                        broken.add(pname)
                        self._fail(pname, dist, f"hook {hook} raised {type(exc).__name__}: {exc}")
                        continue
                    for name, obj in result.items():
                        what, ok = _CONTRACT[kind]
                        if not isinstance(name, str) or not ok(obj):
                            self._fail(pname, dist, f"{kind} plugin {name!r} is not {what}; got {type(obj).__name__}")
                            continue
                        if name in tables[kind]:
                            first = tables[kind][name]
                            self._fail(pname, dist, f"{kind} plugin name '{name}' is already taken by plugin "
                                                    f"'{first.plugin}'; keeping the first")
                            continue
                        if kind == "profile":
                            # the TOML reader (physics) looks kinds up in its own table
                            try:
                                profiles.register_kind(name, obj)
                            except ParameterError as exc:
                                self._fail(pname, dist, f"profile kind '{name}': {exc}")
                                continue
                        tables[kind][name] = PluginInfo(kind, name, obj, pname, dist)
        return tables

    def names(self, kind: str) -> list[str]:
        return sorted(self._tables[kind])

    def info(self, kind: str, name: str) -> PluginInfo:
        table = self._tables[kind]
        if name not in table:
            raise PluginError(
                f"unknown {kind} plugin '{name}'; known {kind} plugins: {', '.join(sorted(table)) or '(none)'}"
            )
        return table[name]

    def get(self, kind: str, name: str):
        return self.info(kind, name).obj

    def listing(self) -> dict[str, list[str]]:
        return {kind: self.names(kind) for kind in KINDS}

    def describe(self) -> dict[str, list[dict]]:
        """Every plugin with its description and distribution (``trsp plugins --json``)."""
        return {kind: [{"name": i.name, "description": i.description, "distribution": i.distribution or "(python)",
                        "plugin": i.plugin} for i in sorted(self._tables[kind].values(), key=lambda i: i.name)]
                for kind in KINDS}


@functools.lru_cache(maxsize=1)
def default_registry() -> Registry:
    return Registry()


# a parameter file naming a plugin's profile kind before any registry was loaded
profiles.add_kind_source(lambda: default_registry()._tables)
