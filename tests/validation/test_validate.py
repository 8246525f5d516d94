"""The validation suite end to end: passes on a correct model, fails (exit 1, check named) on a broken one."""
import json
import re

import attrs
import pytest
from typer.testing import CliRunner

import trsp_core.spec
from trsp_core.cli import app
from trsp_core.spec import compose
from trsp_core.validation import SuiteConfig, run_suite

#: Small but statistically meaningful: L = 6, 16 seeds x 20 mean rearrangement times.
CONFIG = SuiteConfig.quick(backend="auto")


def overshooting(model, factor=1.2):
    """Scale the deterministic part of every kernel (H, and G of the window form) by ``factor``."""
    n = len(model.orientations)
    dense = {o: attrs.evolve(model.dense_kernel(o), H=factor * model.dense_kernel(o).H) for o in range(n)}
    win = {o: attrs.evolve(model.window_kernel(o), G=factor * model.window_kernel(o).G) for o in range(n)}
    model.dense_kernel = dense.__getitem__
    model.window_kernel = win.__getitem__
    return model


@pytest.fixture(scope="module")
def good():
    return run_suite(compose(size=6), CONFIG)


def test_suite_passes_on_default_model(good):
    assert good.passed, [(c.name, c.statistic, c.threshold) for c in good.checks if not c.passed]
    names = {c.name for c in good.checks}
    assert {"mean-S", "correlation-C(r)", "rate-law", "detailed-balance", "kick-exchangeability",
            "kick-variance", "fourpoint-identities", "mean-rate"} <= names


def test_suite_fails_on_broken_kernel():
    res = run_suite(overshooting(compose(size=6)), CONFIG)
    assert not res.passed
    assert "kick-exchangeability" in res.failed()


def test_cli_json_and_exit_codes(tmp_path, monkeypatch):
    runner = CliRunner()
    ok = runner.invoke(app, ["validate", "--quick", "--json", "--size", "6", "--out", str(tmp_path / "ok")])
    assert ok.exit_code == 0, ok.output
    doc = json.loads(ok.stdout.strip().splitlines()[-1])
    assert all(set(c) == {"name", "passed", "statistic", "threshold", "statistic_kind"} for c in doc["checks"])
    kinds = {c["name"]: c["statistic_kind"] for c in doc["checks"]}
    assert kinds["mean-S"] == "max |t|" and kinds["rate-law"] == "chi2" and kinds["kick-variance"] == "max |z|"
    assert kinds["fourpoint-identities"] == "rel. diff."
    assert all(c["passed"] for c in doc["checks"])
    for png in ("fig1a_rate_law.png", "fig9_detailed_balance.png", "fig10_mean_S.png", "fig11_correlation.png"):
        assert (tmp_path / "ok" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Overall: PASS" in (tmp_path / "ok" / "report.md").read_text()

    real = trsp_core.spec.ModelSpec.build
    monkeypatch.setattr(trsp_core.spec.ModelSpec, "build", lambda self, *a, **kw: overshooting(real(self, *a, **kw)))
    bad = runner.invoke(app, ["validate", "--quick", "--size", "6", "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 1
    assert "FAIL  kick-exchangeability" in bad.stdout
    # the human summary: statistics by kind, values with units, the run in frames
    assert re.search(r"PASS  mean-S +max \|t\| = .*measured .*target .*\(descriptor units\)", bad.stdout), bad.stdout
    assert re.search(r"mean-rate .*rearrangements per site per frame", bad.stdout), bad.stdout
    assert re.search(r"run: \d+ seeds x [\d.e+]+ frames, [\d,]+ events, T = [\d.]+ epsilon_AA/k_B, "
                     r"tau_alpha = [\d.e+]+ frames", bad.stdout), bad.stdout


@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], ["--cluster", "single"], ["--delta-rule", "center-of-mass"],
                                   ["--facilitation", "0.2"]])
def test_quick_validate_default_size(tmp_path, extra):
    res = CliRunner().invoke(app, ["validate", "--quick", "--json", "--out", str(tmp_path), *extra])
    assert res.exit_code == 0, res.output
