"""Observables: each a compute object (parameters in the constructor, data in
``compute(model, runs)``) living beside the numerics it needs.

``BUILTIN`` maps the plugin names under which ``plugins/observables.py``
registers them to the classes.
"""
from trsp_core.observables.fourpoint import BlockChi4, FourPointStructureFactor
from trsp_core.observables.kicks import SoftnessChange
from trsp_core.observables.overlap import Overlap
from trsp_core.observables.rate_law import ObservedRateLaw
from trsp_core.observables.statics import TimeWeightedStatics
from trsp_core.observables.transitions import DetailedBalanceTest

BUILTIN = {cls.name: cls for cls in (Overlap, FourPointStructureFactor, BlockChi4, TimeWeightedStatics,
                                     ObservedRateLaw, DetailedBalanceTest, SoftnessChange)}

__all__ = ["BUILTIN", "BlockChi4", "DetailedBalanceTest", "FourPointStructureFactor", "ObservedRateLaw", "Overlap",
           "SoftnessChange", "TimeWeightedStatics"]


def resolve(observables, registry=None) -> list:
    """Observable instances from plugin names (or instances, passed through)."""
    from trsp_core.plugin.registry import default_registry

    reg = registry or default_registry()
    return [reg.get("observable", o)() if isinstance(o, str) else o for o in observables]


def required_fields(obs) -> tuple[str, ...]:
    """The run fields an observable (class or instance) reads; the interface's default
    applies to duck-typed plugins that do not declare them."""
    from trsp_core.plugin.interfaces import Observable

    return tuple(getattr(obs, "requires", Observable.requires))


def compute(obs, model, runs, source: str = "the runs"):
    """``obs.compute(model, runs)`` after checking the runs carry the fields it requires."""
    from trsp_core.run import check_fields, common_fields

    check_fields(required_fields(obs), common_fields(runs), f"observable '{obs.name}'", source)
    return obs.compute(model, runs)


def compute_all(observables, model, runs, source: str = "the runs") -> list:
    return [compute(o, model, runs, source) for o in observables]
