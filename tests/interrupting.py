"""Ctrl-C as a terminal sends it, for tests of interrupted commands."""
from __future__ import annotations

import os
import signal
import subprocess


def ctrl_c(p: subprocess.Popen, ready, timeout: float = 120.0) -> tuple[str, str]:
    """Call ``ready()`` (it returns once ``p`` has got far enough), send SIGINT to ``p``'s process
    group (``p`` started with ``start_new_session=True``: the whole foreground group, as a
    terminal's Ctrl-C), and return ``p``'s (stdout, stderr). ``p`` is killed if it outlives this."""
    try:
        ready()
        os.killpg(p.pid, signal.SIGINT)
        return p.communicate(timeout=timeout)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate(timeout=60)
