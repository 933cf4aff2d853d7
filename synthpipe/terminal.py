"""What the command line prints and how a command ends.

The console objects (stderr for progress, logs and errors; stdout for results), the logging
set-up that keeps the console to synthpipe's own lines, an error as one readable block with its
exit code, ``--json`` mode (stdout carries exactly one JSON object), the progress bars, and the
clean stop on SIGTERM / Ctrl-C. :mod:`synthpipe.cli` holds the commands themselves.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import typer
from rich.console import Console

from synthpipe.errors import SynthpipeError

console = Console(stderr=True)
out_console = Console()


class _State:
    debug = False


#: Libraries that log a line per HTTP request or per validation step at INFO: -v keeps their
#: warnings only (--debug shows everything).
NOISY_LOGGERS = ("httpx", "httpcore", "great_expectations", "distributed", "asyncio", "urllib3")


class _OwnWarnings(logging.Filter):
    """Without -v the console shows the CLI's own lines: synthpipe's warnings and errors only.

    Prefect's lines (and its traceback of a failed task, which the CLI reports as one readable
    error) still go to the Prefect server; libraries' warnings stay behind -v.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING and (
            record.name == "synthpipe" or record.name.startswith("synthpipe.")
        )


def setup_output(debug: bool, verbose: bool) -> None:
    _State.debug = debug
    from synthpipe._env import quiet_defaults

    # Prefect's run loggers at INFO, so a run's lines reach the Prefect server; what the
    # console shows is decided by the handler below.
    quiet_defaults({"PREFECT_LOGGING_LEVEL": "INFO"})
    level = logging.DEBUG if debug else (logging.INFO if verbose else logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)  # this invocation's stderr
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    if not (debug or verbose):
        handler.addFilter(_OwnWarnings())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if debug else logging.WARNING)


def fail(exc: BaseException, as_json: bool = False) -> typer.Exit:
    """Print a deliberate error as one readable block and turn it into an exit code.

    With ``as_json`` the error is also the one JSON object on stdout
    (``{"status": "error", "error", "hint", "failures", "exit_code"}``).
    """
    if _State.debug:
        console.print_exception()
    if isinstance(exc, SynthpipeError):
        # soft_wrap: one error is one line, whatever the terminal width (greppable in logs).
        console.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
        failures = getattr(exc, "failures", None)
        for line in failures or []:
            console.print(f"  - {line}", highlight=False, soft_wrap=True)
        if exc.hint:
            console.print(f"[yellow]fix:[/] {exc.hint}", highlight=False, soft_wrap=True)
        if as_json:
            emit_json({"status": "error", "error": exc.message, "hint": exc.hint,
                        "failures": list(failures or []), "exit_code": exc.exit_code})
        return typer.Exit(exc.exit_code)
    console.print(
        f"[bold red]error:[/] {type(exc).__name__}: {exc}", highlight=False, soft_wrap=True
    )
    console.print("run again with --debug for the traceback", highlight=False)
    if as_json:
        emit_json({"status": "error", "error": f"{type(exc).__name__}: {exc}", "hint": None,
                    "failures": [], "exit_code": 1})
    return typer.Exit(1)


def usage_error(message: str, as_json: bool) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    if as_json:
        emit_json({"status": "error", "error": message, "hint": None, "failures": [],
                    "exit_code": 2})
    return typer.Exit(2)


#: The real stdout while a --json command runs (everything else printed goes to stderr).
_json_out: list[Any] = []


@contextlib.contextmanager
def stdout_for_json(as_json: bool) -> Iterator[None]:
    """With --json, send anything printed to stdout (a library's print) to stderr instead, so
    stdout carries exactly one JSON object, written by :func:`emit_json`."""
    if not as_json:
        yield
        return
    _json_out.append(sys.stdout)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        _json_out.pop()


def emit_json(obj: dict[str, Any]) -> None:
    from synthpipe.jsonutil import to_jsonable

    out = _json_out[-1] if _json_out else sys.stdout
    out.write(json.dumps(to_jsonable(obj)) + "\n")
    out.flush()


class ProgressBars:
    """A rich progress bar per phase (fit, sample), fed by the pipeline's callback."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> ProgressBars:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, phase: str, step: int, total: int, info: dict) -> None:
        label = {"fit": "training", "sample": "sampling"}.get(phase, phase)
        if phase not in self.tasks or self.progress.tasks[self.tasks[phase]].finished:
            if phase in self.tasks and step >= total:
                return
            self.tasks[phase] = self.progress.add_task(label, total=total, info="")
        text = "  ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in info.items()
        )
        self.progress.update(self.tasks[phase], completed=step, total=total, info=text)


class Terminated(BaseException):
    """SIGTERM during a run, raised in the main thread like Ctrl-C's KeyboardInterrupt, so the
    run unwinds through its clean-ups (its temporary folder, the parts' staging folder, a run
    folder still under its temporary name, the Dask cluster it started)."""


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (an embedding application's choice)
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def stopped(code: int, what: str, as_json: bool) -> None:
    """After a signal: clean up what a worker thread may still hold, say so in one line, exit.

    The run has unwound by now (its finally blocks removed its temporary folders). A training
    step in a worker thread cannot be interrupted, so the process exits without waiting for it
    (``os._exit``), after removing the run's temporary folders again and stopping the embedded
    Prefect server that Python's exit handlers would otherwise have stopped.
    """
    import os

    from synthpipe.pipeline.run import discard_workdirs

    discard_workdirs()
    stop_embedded_prefect()
    console.print(f"{what}: the run stopped; nothing was published and its temporary files "
                  "were removed", highlight=False, soft_wrap=True)
    if as_json:
        emit_json({"status": "interrupted", "signal": what, "exit_code": code})
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def stop_embedded_prefect() -> None:
    try:
        from prefect.server.api.server import SubprocessASGIServer
    except ImportError:  # pragma: no cover - prefect is a dependency
        return
    for server in list(SubprocessASGIServer._instances.values()):
        with contextlib.suppress(Exception):
            server.stop()
