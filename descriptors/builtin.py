"""Built-in descriptors.

* ``softness-kalj``: illustrative Kob-Andersen-like softness parameters. They
  are *not* fitted numbers from the paper (which shows its fits only as
  figures); they reproduce its qualitative behaviour. Override any of them
  with ``--params FILE``.
* ``gaussian``: every number from a TOML file (``--params``, required): the
  route to a new descriptor without writing code.
* ``trap``: the trap model as a composition: independent sites (C1 = 0) and a
  full reset of the rearranging site (H = 1). Use it with ``--cluster single``.

Structural descriptors computed from MD frames (``trsp_structural_descriptors``;
docs/descriptors.md): ``q6``, ``w6``, ``voronoi-volume``, ``s2``, ``fivefold``
(:mod:`descriptors.structural`) and ``softness`` (a trained model,
:mod:`descriptors.softness_ml.descriptor`).
"""
from importlib import resources
from pathlib import Path

from trsp_core import hookimpl
from trsp_core.errors import InputFileError
from trsp_core.plugin.interfaces import Descriptor
from trsp_core.physics.params import DescriptorParams, read_params_toml

KALJ = DescriptorParams(
    name="softness-kalj",
    description="Illustrative KA-LJ-like softness parameters (not fitted to the paper)",
)


class TomlDescriptor(Descriptor):
    """A descriptor whose defaults come from a packaged TOML file (or none)."""

    def __init__(self, name, description, defaults: DescriptorParams | None, toml_name: str | None = None):
        self.name, self.description = name, description
        self._defaults = defaults
        self._toml = toml_name

    def defaults(self) -> DescriptorParams | None:
        if self._toml:
            with resources.as_file(resources.files("descriptors") / "data" / self._toml) as path:
                return read_params_toml(path)
        return self._defaults

    def parameters(self, params_file: Path | None = None) -> DescriptorParams:
        base = self.defaults()
        if params_file is None:
            if base is None:
                raise InputFileError(
                    f"descriptor '{self.name}' takes every parameter from a TOML file: pass --params FILE"
                )
            return base
        return read_params_toml(params_file, base=base or DescriptorParams(name=self.name))


@hookimpl
def trsp_descriptors():
    return {
        "softness-kalj": TomlDescriptor("softness-kalj", KALJ.description, KALJ),
        "gaussian": TomlDescriptor("gaussian", "All parameters from a TOML file", None),
        "trap": TomlDescriptor("trap", "Trap model: independent sites, full reset", None, "trap.toml"),
    }


@hookimpl
def trsp_structural_descriptors():
    from descriptors.softness_ml.descriptor import Softness
    from descriptors.structural import BUILTIN

    return {**BUILTIN, Softness.name: Softness}
