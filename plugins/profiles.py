"""Built-in radial-profile kinds (C(r), s(r), rho(r)): registered like a third party's."""
from trsp_core import hookimpl
from trsp_core.physics.profiles import builtin_kinds


@hookimpl
def trsp_profile_kinds():
    return builtin_kinds()
