"""Assemble a Model from plugin names (the Python API behind ``trsp compose``)."""
from __future__ import annotations

from pathlib import Path

from trsp_core.model import Model
from trsp_core.registry import Registry, default_registry

DEFAULTS = dict(descriptor="softness-kalj", lattice="cubic", size=12, cluster="plaquette",
                delta_rule="nearest", rate="arrhenius", temperature=0.55, facilitation=1.0)


def build_model(
    descriptor: str = DEFAULTS["descriptor"],
    lattice: str = DEFAULTS["lattice"],
    size: int = DEFAULTS["size"],
    cluster: str = DEFAULTS["cluster"],
    delta_rule: str = DEFAULTS["delta_rule"],
    rate: str = DEFAULTS["rate"],
    temperature: float = DEFAULTS["temperature"],
    facilitation: float = DEFAULTS["facilitation"],
    params: str | Path | None = None,
    registry: Registry | None = None,
) -> Model:
    reg = registry or default_registry()
    desc = reg.get("descriptor", descriptor)
    lat_factory = reg.get("lattice", lattice)
    rule = reg.get("cluster", cluster)
    rate_law = reg.get("rate", rate)
    p = desc.parameters(Path(params) if params else None)
    lat = lat_factory(int(size), p.a)
    return Model(
        lat, p, rule, rate_law, temperature, delta_rule=delta_rule, facilitation=facilitation,
        names=dict(descriptor=descriptor, lattice=lattice, cluster=cluster, rate=rate),
    )
