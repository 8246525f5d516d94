"""Atomic file output: write beside the target, fsync, then rename.

A reader (or a resumed sweep) therefore never sees a half-written file under
the final name. ``check_output_file`` / ``check_output_dir`` test an output path
before a command starts its work, so a bad ``--out`` fails in a second, not
after the computation.
"""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from trsp_core.errors import OutputPathError, TRSPError


def _describe(path: Path) -> str:
    """'a directory', 'a character device', ... for an existing non-regular path."""
    mode = path.stat().st_mode
    for test, what in ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "not a regular file"


def _refuse_non_regular(target: Path, what: str) -> None:
    # os.replace would silently swap a device (/dev/full, as root) or an empty
    # directory for our file: only a regular file (or nothing) may be replaced.
    if target.exists() and not target.is_file():
        raise OutputPathError(f"{what} {target} is {_describe(target)}, not a regular file")


def _probe_dir(directory: Path, what: str) -> None:
    """Create ``directory`` (and parents) and a file in it: the only test that also
    catches read-only mounts, immutable directories and /proc as root."""
    for parent in (directory, *directory.parents):
        if parent.exists():
            if not parent.is_dir():
                raise OutputPathError(f"{what}: {parent} exists and is not a directory")
            break
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".trsp-probe.", suffix=".part", dir=directory)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise OutputPathError(f"{what}: cannot write in directory {directory}: {exc.strerror or exc}") from None


def check_output_file(target: str | Path, what: str = "output file") -> Path:
    """Raise OutputPathError unless ``target`` can be written as a file (creates its directory)."""
    target = Path(target)
    if str(target).endswith(os.sep) or target.name in ("", ".", ".."):
        raise OutputPathError(f"{what} {target} names a directory, not a file")
    _refuse_non_regular(target, what)
    _probe_dir(target.parent, f"{what} {target}")
    return target


def check_output_dir(directory: str | Path, what: str = "output directory") -> Path:
    """Raise OutputPathError unless ``directory`` is (or can be made) a writable directory."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise OutputPathError(f"{what} {directory} exists and is not a directory")
    _probe_dir(directory, f"{what} {directory}")
    return directory


@contextlib.contextmanager
def atomic_path(target: str | Path):
    """Yield a temporary path in the target's directory; rename on success."""
    target = Path(target)
    _refuse_non_regular(target, "output")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise OutputPathError(f"cannot write {target}: {exc.strerror or exc}") from None
    os.close(fd)
    # mkstemp makes the file 0600; the result should get the usual umask permissions.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        # re-checked: the target may have become a directory or device meanwhile
        _refuse_non_regular(target, "output")
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, TRSPError) and exc.errno is not None:
            # a full disk or a vanished directory at write time: one line, not a traceback
            raise OutputPathError(f"cannot write {target}: {exc.strerror or exc}") from None
        raise


def atomic_write_text(target: str | Path, text: str) -> None:
    with atomic_path(target) as tmp:
        Path(tmp).write_text(text)
