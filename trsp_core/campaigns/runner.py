"""Running many independent tasks on dask.distributed with a live progress display.

Resume and crash safety come from the task design, not from the scheduler:

* every task writes its own file under a content-hash name, atomically
  (temporary file + fsync + rename), so a file under its final name is complete;
* tasks whose file already exists are not submitted (resume), and a task that is
  re-executed anyway (the scheduler recomputes lost results of a dead worker)
  returns at once without rewriting the file;
* a worker killed mid-run leaves at most a ``.*.part`` temporary, which no reader
  ever mistakes for a result; the scheduler reschedules the task elsewhere
  (up to ``distributed.scheduler.allowed-failures`` times, then it is reported
  as failed and the next invocation retries it).
"""
from __future__ import annotations

import contextlib
import os
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable, Iterable

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@dataclass
class TaskOutcome:
    results: list = field(default_factory=list)      # (item, result)
    failures: list = field(default_factory=list)     # (item, message)
    interrupted: bool = False


@contextlib.contextmanager
def open_client(scheduler: str = "local", n_workers: int | None = None):
    """``local``: a LocalCluster with one single-threaded worker process per core.
    Anything else: the address of a running scheduler (``tcp://host:8786``), e.g. one
    started by ``dask scheduler`` / ``dask worker`` or by dask-jobqueue on SLURM."""
    from distributed import Client, LocalCluster

    if scheduler == "local":
        n = n_workers or os.cpu_count() or 1
        # Worker processes start with SIGINT ignored (an ignored signal stays ignored across
        # exec, and Python then installs no KeyboardInterrupt handler): Ctrl-C reaches the
        # whole process group, but only this client reacts, cancels and shuts the cluster
        # down, instead of every worker printing its own traceback.
        with _sigint_ignored():
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=40)
        client = Client(cluster)
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.close(timeout=10)
            with contextlib.suppress(Exception):
                cluster.close(timeout=10)
    else:
        client = Client(scheduler, timeout=30)
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.close(timeout=10)


@contextlib.contextmanager
def _sigint_ignored():
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _running_count(client, keys: set) -> int:
    """Tasks of ours currently assigned to a worker thread (approximate, capped at #threads)."""
    try:
        proc = client.processing()
        nthreads = sum(client.nthreads().values())
    except Exception:  # noqa: BLE001
        return 0
    n = sum(1 for ks in proc.values() for k in ks if k in keys)
    return min(n, nthreads)


def run_tasks(client, fn: Callable, items: Iterable[dict], *, key: Callable[[dict], str],
              describe: Callable[[dict], str], title: str = "runs", console: Console | None = None,
              show: bool = True, on_result: Callable | None = None, poll: float = 0.25) -> TaskOutcome:
    """Submit ``fn(item)`` for every item, show done / running / failed live, collect results.

    A failing task is reported (with ``describe(item)``) and does not stop the others.
    Ctrl-C cancels the outstanding tasks and returns with ``interrupted=True``.
    """
    items = list(items)
    console = console or Console(stderr=True)
    out = TaskOutcome()
    futures = {}
    for it in items:
        f = client.submit(fn, it, key=key(it), pure=False)
        futures[f.key] = (f, it)
    pending = dict(futures)
    progress = Progress(TextColumn(f"[bold]{title}"), BarColumn(),
                        TextColumn("done {task.completed:.0f}/{task.total:.0f}"),
                        TextColumn("[cyan]running {task.fields[running]}"),
                        TextColumn("[red]failed {task.fields[failed]}"),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=console, disable=not show,
                        transient=False)
    lines = None
    if show and not console.is_terminal:
        from trsp_core.progress import LineProgress

        lines = LineProgress(title)
    with progress:
        task = progress.add_task(title, total=len(items), running=0, failed=0)
        try:
            while pending:
                for k, (f, it) in list(pending.items()):
                    st = f.status
                    if st == "finished":
                        res = f.result()
                        out.results.append((it, res))
                        if on_result:
                            on_result(it, res)
                    elif st in ("error", "cancelled", "lost"):
                        try:
                            exc = f.exception(timeout=5)
                            msg = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                        except Exception as e:  # noqa: BLE001
                            msg = f"{st}: {e}"
                        out.failures.append((it, msg))
                        console.print(f"[red]FAILED[/red] {describe(it)}: {msg}")
                    else:
                        continue
                    del pending[k]
                    f.release()
                n_done = len(out.results) + len(out.failures)
                running = _running_count(client, set(pending))
                progress.update(task, completed=n_done, running=running, failed=len(out.failures))
                if lines is not None and items:
                    lines.title = f"{title}: done {n_done}/{len(items)}, running {running}, failed {len(out.failures)}"
                    lines(n_done, len(items))
                if pending:
                    time.sleep(poll)
        except KeyboardInterrupt:
            out.interrupted = True
            with contextlib.suppress(Exception):
                client.cancel([f for f, _ in pending.values()], force=True)
    return out
