"""Plugin discovery: a pluggy manager fed from the ``trsp`` entry-point group."""
from __future__ import annotations

import functools

import pluggy

from trsp_core.plugin import hookspecs
from trsp_core.errors import PluginError

KINDS = {
    "descriptor": "trsp_descriptors",
    "lattice": "trsp_lattices",
    "cluster": "trsp_cluster_rules",
    "rate": "trsp_rate_laws",
    "observable": "trsp_observables",
}


class Registry:
    """Named plugins of every kind, collected from all registered hook implementations."""

    def __init__(self, load_entrypoints: bool = True):
        self.pm = pluggy.PluginManager("trsp")
        self.pm.add_hookspecs(hookspecs)
        if load_entrypoints:
            self.pm.load_setuptools_entrypoints("trsp")

    def register(self, plugin, name: str | None = None) -> None:
        """Register a module or object with hookimpls (the Python route, no entry point)."""
        self.pm.register(plugin, name=name)
        self.__dict__.pop("_tables", None)

    @functools.cached_property
    def _tables(self) -> dict[str, dict[str, object]]:
        tables: dict[str, dict[str, object]] = {}
        for kind, hook in KINDS.items():
            table: dict[str, object] = {}
            # Call each implementation separately so a clash names its plugin.
            for impl in getattr(self.pm.hook, hook).get_hookimpls()[::-1]:
                result = impl.function()
                for name, obj in (result or {}).items():
                    if name in table:
                        raise PluginError(
                            f"{kind} plugin name '{name}' is registered twice "
                            f"(second time by {impl.plugin_name})"
                        )
                    table[name] = obj
            tables[kind] = table
        return tables

    def names(self, kind: str) -> list[str]:
        return sorted(self._tables[kind])

    def get(self, kind: str, name: str):
        table = self._tables[kind]
        if name not in table:
            raise PluginError(
                f"unknown {kind} plugin '{name}'; known {kind} plugins: {', '.join(sorted(table)) or '(none)'}"
            )
        return table[name]

    def listing(self) -> dict[str, list[str]]:
        return {kind: self.names(kind) for kind in KINDS}


@functools.lru_cache(maxsize=1)
def default_registry() -> Registry:
    return Registry()
