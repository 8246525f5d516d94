"""One campaign per --out: two real processes, a killed holder, stale temporaries, Ctrl-C."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.interrupting import ctrl_c
from trsp_core.campaigns.lock import LOCK_NAME, DirectoryLocked, clean_stale_parts, directory_lock
from trsp_core.campaigns.tasks import is_finished

TRSP = [sys.executable, "-c", "from trsp_core.cli import main; main()"]
#: a sweep of 6 one-worker runs of a few seconds each
LONG = ["sweep", "--temperatures", "0.6", "--size", "10", "--seeds", "6", "--duration", "30000",
        "--workers", "1", "--observables", "overlap"]
QUICK = ["sweep", "--temperatures", "0.7", "--size", "4", "--seeds", "2", "--duration", "300",
         "--workers", "1", "--backend", "reference", "--observables", "overlap"]


def _start(args, out: Path) -> subprocess.Popen:
    # own session: Ctrl-C (SIGINT to the process group) and SIGKILL reach exactly this sweep and its workers
    return subprocess.Popen([*TRSP, *args, "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def _wait_for(cond, timeout=180.0, what="condition"):
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _holder_pid(out: Path):
    try:
        return json.loads((out / LOCK_NAME).read_text() or "{}").get("pid")
    except (OSError, ValueError):
        return None


def _finished(out: Path) -> int:
    return sum(1 for p in (out / "runs").glob("*.nc") if is_finished(p))


def test_lock_in_process(tmp_path):
    with directory_lock(tmp_path, "sweep"):
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    with directory_lock(tmp_path, "sweep"):  # released, so taken again
        pass
    assert (tmp_path / LOCK_NAME).read_text() == ""


def test_clean_stale_parts(tmp_path):
    (tmp_path / "runs").mkdir()
    for name in (".a.nc.x1.part", "runs/.b.nc.x2.part"):
        (tmp_path / name).write_text("half")
    keep = tmp_path / "runs" / "c.nc"
    keep.write_text("done")
    assert clean_stale_parts(tmp_path, tmp_path / "runs") == 2
    assert keep.exists() and not list(tmp_path.rglob("*.part"))


def test_second_process_on_one_out_refused_then_dead_holder_taken_over(tmp_path):
    out = tmp_path / "sweep"
    first = _start(LONG, out)
    try:
        _wait_for(lambda: _holder_pid(out) == first.pid, what="the first sweep to take the lock")
        # a second real process on the same --out: one line naming the directory and the holder's pid
        second = subprocess.run([*TRSP, *QUICK, "--out", str(out)], capture_output=True, text=True, timeout=300)
        assert second.returncode == 2, second.stderr
        err = [ln for ln in second.stderr.splitlines() if ln.startswith("trsp: error:")]
        assert len(err) == 1 and "Traceback" not in second.stderr, second.stderr
        assert str(out) in err[0] and f"pid {first.pid}" in err[0] and "in use" in err[0]
        # and in-process, the same refusal as an exception
        with pytest.raises(DirectoryLocked, match=f"pid {first.pid}"):
            with directory_lock(out):
                pass
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # killed outright: no cleanup, the lock file keeps its pid
        first.communicate(timeout=60)
    assert _holder_pid(out) == first.pid
    stale = out / "runs" / ".deadbeef.nc.abc123.part"
    stale.write_text("half-written by a killed writer")
    third = subprocess.run([*TRSP, *QUICK, "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert third.returncode == 0, third.stderr
    # ours, and the one the killed worker was streaming its run into
    assert not stale.exists() and re.search(r"removed \d+ stale temporary file", third.stderr), third.stderr
    assert not list(out.rglob(".*.part"))
    assert (out / "sweep.nc").exists() and _finished(out) >= 2


def test_ctrl_c_one_line_and_count_equals_files(tmp_path):
    out = tmp_path / "sweep"
    p = _start(LONG, out)
    stdout, stderr = ctrl_c(p, lambda: _wait_for(lambda: _finished(out) >= 1, what="a first finished run"))
    assert p.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if "interrupted" in ln]
    assert len(lines) == 1, stderr
    m = re.fullmatch(r"interrupted; (\d+) runs kept, rerun to resume", lines[0].strip())
    assert m, lines
    assert int(m.group(1)) == _finished(out) >= 1
