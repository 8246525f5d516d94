"""Ctrl-C on `trsp compose`: exit 130, one line saying what was (not) kept, no traceback,
nothing half-written under --out."""
from __future__ import annotations

import subprocess
import sys
import time

from tests.cli.test_bad_inputs import run_cli
from tests.interrupting import ctrl_c

TRSP = [sys.executable, "-c", "from trsp_core.cli import main; main()"]


def test_ctrl_c_during_the_run_is_one_line_and_leaves_no_file(tmp_path):
    out = tmp_path / "c.nc"
    # own session so that SIGINT to its group is what a terminal's Ctrl-C does
    p = subprocess.Popen([*TRSP, "compose", "--size", "24", "--seeds", "2", "--duration", "1e6", "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)

    def writing():
        t0 = time.monotonic()
        while not list(tmp_path.glob(".c.nc.*.part")):      # the streamed output has been opened
            assert p.poll() is None and time.monotonic() - t0 < 300, "compose never started writing"
            time.sleep(0.1)
        time.sleep(1.0)

    stdout, stderr = ctrl_c(p, writing)
    assert p.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if "interrupted" in ln]
    assert lines == [f"trsp compose: interrupted; {out} not written (a compose does not resume: rerun it, "
                     "or use `trsp sweep`, which keeps finished runs)"], stderr
    assert not out.exists() and not list(tmp_path.iterdir())


def test_ctrl_c_before_any_command_handles_it_is_one_line(capsys, monkeypatch, tmp_path):
    import trsp_core.spec

    def interrupted(self, *a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(trsp_core.spec.ModelSpec, "build", interrupted)   # Ctrl-C while the model is built
    code, out, err = run_cli(capsys, monkeypatch, "compose", "--size", "4", "--out", tmp_path / "c.nc")
    assert code == 130 and "Traceback" not in err
    assert [ln for ln in err.splitlines() if ln.strip()] == ["trsp: interrupted"], err
