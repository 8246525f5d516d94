"""Every TOML example of docs/functional-forms.md composes a valid model (the docs cannot rot).

The examples are the indented blocks that start with a section header; each is composed on
the default cubic lattice at a temperature inside the ranges its tables cover.
"""
import re
from pathlib import Path

import pytest

from trsp_core import compose

DOC = Path(__file__).resolve().parents[2] / "docs" / "functional-forms.md"


def _examples():
    blocks, cur = [], None
    for line in DOC.read_text().splitlines():
        if line.startswith("    ") and (cur is not None or re.match(r"    \[(structure|kicks|rates)\.", line)):
            cur = (cur or []) + [line[4:]]
        elif line.strip() == "" and cur is not None:
            cur.append("")
        else:
            if cur:
                blocks.append("\n".join(cur).strip() + "\n")
            cur = None
    if cur:
        blocks.append("\n".join(cur).strip() + "\n")
    # a shell command after a blank line inside an indented run is not TOML
    return [b.split("\ntrsp ")[0] for b in blocks]


EXAMPLES = _examples()


def test_the_doc_has_every_form():
    text = "".join(EXAMPLES)
    for kind in ("almost-exponential", "damped-oscillation", "tabulated", "per-temperature",
                 "[structure.mu_table]", "[rates.rate_table]", "{a = 0.9, b = 0.15}"):
        assert kind in text, kind


@pytest.mark.parametrize("i", range(len(EXAMPLES)))
def test_doc_example_composes(i, tmp_path):
    f = tmp_path / "p.toml"
    f.write_text(EXAMPLES[i])
    rate = "per-temperature" if "[rates.rate_table]" in EXAMPLES[i] else "arrhenius"
    m = compose(size=8, temperature=0.5, params=str(f), rate=rate)
    assert m.n_sites == 512
