"""Built-in observables: registered through the same hook a third-party plugin uses.

The classes live in :mod:`trsp_core.observables`, beside their numerics.
"""
from trsp_core.observables import BUILTIN
from trsp_core.plugin.hookspecs import hookimpl


@hookimpl
def trsp_observables():
    return dict(BUILTIN)
