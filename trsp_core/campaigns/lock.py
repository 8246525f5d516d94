"""One campaign per output directory: an exclusive lock on ``out/.trsp.lock``.

Two ``trsp sweep`` (or ``trsp age``) processes on one ``--out`` would both compute
every run and overwrite each other's combined file. The first to start holds an
``flock`` on ``out/.trsp.lock`` (the file records its pid and host); a second one
refuses with a :class:`DirectoryLocked` error naming the directory and the holder's
pid. The kernel drops the lock when its holder dies, however it dies (SIGKILL,
OOM killer), so a stale lock file of a dead process is simply taken over.

Holding the lock also makes it safe to delete the ``.*.part`` temporaries a killed
writer left behind (:func:`clean_stale_parts`): no live trsp process of another
campaign writes into the directory.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from pathlib import Path

from trsp_core.errors import TRSPError

LOCK_NAME = ".trsp.lock"


class DirectoryLocked(TRSPError, RuntimeError):
    """Another live process holds the campaign directory."""


def _holder(path: Path) -> dict:
    try:
        return json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def directory_lock(directory: str | Path, what: str = "campaign"):
    """Hold ``directory``'s campaign lock for the block; refuse if a live process holds it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    held = False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = True
        except BlockingIOError:
            h = _holder(path)
            who = f"pid {h['pid']}" if "pid" in h else "another process"
            if h.get("host") and h["host"] != socket.gethostname():
                who += f" on {h['host']}"
            since = f", since {h['started']}" if h.get("started") else ""
            raise DirectoryLocked(
                f"output directory {directory} is in use by another trsp {h.get('what', what)} ({who}{since}); "
                f"wait for it to finish or stop it, or choose another --out") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "what": what,
                                 "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}).encode())
        os.fsync(fd)
        yield path
    finally:
        if held:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # released: no pid left to name (the file itself stays; unlinking races)
        os.close(fd)  # closing the descriptor releases the flock


def clean_stale_parts(*directories: str | Path) -> int:
    """Delete ``.*.part`` temporaries (of writers killed mid-write) in ``directories``; call
    only while holding the directory lock. Returns how many were removed."""
    n = 0
    for d in directories:
        d = Path(d)
        if not d.is_dir():
            continue
        for p in d.glob(".*.part"):
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                p.unlink()
                n += 1
    return n


@contextlib.contextmanager
def claimed(out: str | Path, what: str, say=print):
    """Hold ``out``'s lock for a campaign and clear the temporaries killed writers left in it
    and in ``out/runs`` (what every campaign does before its first run)."""
    out = Path(out)
    with directory_lock(out, what):
        n_parts = clean_stale_parts(out, out / "runs")
        if n_parts:
            say(f"removed {n_parts} stale temporary file(s) left by an interrupted writer")
        yield out
