"""Every worked example of docs/plugins.md registers, composes and runs as printed."""
import re
import types
from pathlib import Path

import pytest

import trsp_core as trsp

DOC = (Path(__file__).parents[2] / "docs" / "plugins.md").read_text()
SECTION = DOC[DOC.index("## Constraints and a worked example per kind"):DOC.index("## What the core does for you")]
BLOCKS = re.findall(r"```python\n(.*?)```", SECTION, flags=re.S)


def _module(code, name):
    mod = types.ModuleType(name)
    exec(compile(code, f"docs/plugins.md:{name}", "exec"), mod.__dict__)  # noqa: S102
    return mod


def test_one_example_per_kind():
    assert len(BLOCKS) == 5


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_example_composes_and_runs(i):
    reg = trsp.Registry()
    reg.register(_module(BLOCKS[i], f"example{i}"), name=f"example{i}")
    new = {kind: set(names) - set(trsp.default_registry().listing()[kind]) for kind, names in reg.listing().items()}
    (kind,) = [k for k, v in new.items() if v]
    (name,) = new[kind]
    assert reg.info(kind, name).description and not reg.failures
    choice = {"descriptor": {"descriptor": name}, "lattice": {"lattice": name}, "cluster": {"cluster": name},
              "rate": {"rate": name}, "observable": {}}[kind]
    model = trsp.compose(registry=reg, size=6, temperature=0.6, **choice)
    obs = ["overlap"] + ([name] if kind == "observable" else [])
    ds = model.run(seeds=2, duration=400, observables=obs, registry=reg)
    assert int(ds["n_events"].sum()) > 0
    if kind == "observable":
        assert 0 < float(ds["active_fraction"].mean()) <= 1
