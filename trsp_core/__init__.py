"""trsp: Time-Reversible Structuro-Plastic lattice models of supercooled liquids.

Use it as ``import trsp_core as trsp``::

    model = trsp.compose(temperature=0.5, params={"s1": 0.7})   # or trsp.ModelSpec(...).build()
    ds = model.run(seeds=8, observables=["overlap", "s4"])       # an xarray.Dataset
    model, runs = trsp.open_run("trsp_out/compose.nc")          # any run file trsp writes

The core defines the plugin interfaces (descriptors, lattices, cluster rules,
rate laws, observables), the detailed-balance kernel constructor and the
simulators; implementations live in the ``lattices``, ``descriptors`` and
``plugins`` packages and register through pluggy hooks. Names are imported on
first use, so ``import trsp_core`` stays cheap for the command line.
"""
from importlib import import_module

from trsp_core._version import __version__

#: public name -> module that defines it
_API = {
    # model
    "ModelSpec": "trsp_core.spec", "compose": "trsp_core.spec", "DEFAULTS": "trsp_core.spec",
    "Model": "trsp_core.model", "summary": "trsp_core.model",
    # simulation and runs
    "simulate": "trsp_core.backends.simulate",
    "Run": "trsp_core.run", "open_run": "trsp_core.spec", "OpenedRun": "trsp_core.spec", "FIELDS": "trsp_core.run",
    # observables (compute objects; ``compute`` checks the fields they require)
    "Overlap": "trsp_core.observables", "FourPointStructureFactor": "trsp_core.observables",
    "BlockChi4": "trsp_core.observables", "TimeWeightedStatics": "trsp_core.observables",
    "ObservedRateLaw": "trsp_core.observables", "DetailedBalanceTest": "trsp_core.observables",
    "SoftnessChange": "trsp_core.observables",
    # errors
    "TRSPError": "trsp_core.errors", "ParameterError": "trsp_core.errors", "PluginError": "trsp_core.errors",
    "InputFileError": "trsp_core.errors",
    # plugins
    "hookimpl": "trsp_core.plugin.hookspecs", "Registry": "trsp_core.plugin.registry",
    "default_registry": "trsp_core.plugin.registry",
    "Descriptor": "trsp_core.plugin.interfaces", "RateLaw": "trsp_core.plugin.interfaces",
    "Observable": "trsp_core.plugin.interfaces", "Lattice": "trsp_core.physics.lattice",
    "ClusterRule": "trsp_core.physics.clusters", "DescriptorParams": "trsp_core.physics.params",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        value = getattr(import_module(_API[name]), name)
        globals()[name] = value  # later lookups skip __getattr__
        return value
    raise AttributeError(f"module 'trsp_core' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
