"""What `pdbi run` shows while it runs: one line per finished step, and what concerns the data.

Prefect writes every log record of a run to the terminal: each task's start and end, its
engine's tracebacks, the temporary API server's news, library warnings. For an operator at a
terminal that buries the few lines that matter. During a run this module takes the place of
Prefect's console handler: the terminal gets one rich line per finished step (its state, the
time into the run, the step's last message, such as its row counts), every warning or error a
step logs (rejected rows, a retried Drive call), and a failure as one line; everything, the
tracebacks included, goes to a log file in the data folder, and to the Prefect API as before
(Prefect's own API handler is left alone).
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from rich.console import Console
from rich.text import Text

from tasks.settings import mask_text

RUN_LOGGERS = ("prefect.task_runs", "prefect.flow_runs")
OUR_LOGGERS = ("tasks.", "flows.", "panel_app.")
_FINISHED = re.compile(r"""^Finished in state (\w+)\((?:(['"])(.*)\2)?.*\)$""", re.S)
_ENGINE_FAILURE = ("Task run failed with exception", "Encountered exception during execution")
_GENERATED = re.compile(r"-[0-9a-f]{3}$")  # Prefect's task run names: "<task>-a1b"
MARKS = {"Completed": ("✔", "green"), "Failed": ("✖", "red"), "Crashed": ("✖", "red"),
         "Cancelled": ("✖", "yellow"), "AwaitingRetry": ("↻", "yellow"),
         "Retrying": ("↻", "yellow")}  # fmt: skip


class StepLines(logging.Handler):
    """A logging handler printing a run's steps and warnings, one line each, with rich."""

    def __init__(self, console: Console) -> None:
        super().__init__(logging.INFO)
        self.console = console
        self.started = time.monotonic()
        self.details: dict[str, str] = {}  # step -> its last message

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._show(record)
        except Exception:  # noqa: BLE001 - a display problem must never fail the run
            self.handleError(record)

    def _show(self, record: logging.LogRecord) -> None:
        from_run = record.name.startswith(RUN_LOGGERS)
        if not from_run and not record.name.startswith(OUR_LOGGERS):
            return  # Prefect's machinery, libraries: the log file has them
        message = mask_text(record.getMessage())
        step = step_name(record) if from_run else ""
        finished = _FINISHED.match(message) if from_run else None
        if finished:
            self._finished(step, finished.group(1), finished.group(3) or "")
        elif record.levelno >= logging.WARNING:
            if message.startswith(_ENGINE_FAILURE):
                return  # the traceback of a failed step: its Finished line says why
            mark, style = ("⚠", "yellow") if record.levelno == logging.WARNING else ("✖", "red")
            where = f"{step}: " if step else ""
            self._line(mark, style, Text(f"{where}{first_line(message)}"))
        elif getattr(record, "task_run_name", None) and record.levelno == logging.INFO:
            self.details[step] = first_line(message)  # a task's own news: its row counts

    def _finished(self, step: str, state: str, why: str) -> None:
        mark, style = MARKS.get(state, ("•", "cyan"))
        text = Text(step, style="bold")
        detail = why or (self.details.pop(step, "") if state == "Completed" else "")
        if state != "Completed":
            text.append(f" {state}", style=style)
        if detail:
            text.append(f"  {first_line(detail)}", style="dim" if state == "Completed" else "")
        self._line(mark, style, text)

    def _line(self, mark: str, style: str, text: Text) -> None:
        line = Text(f"{time.monotonic() - self.started:6.1f}s ", style="dim")
        line.append(f"{mark} ", style=style)
        line.append_text(text)
        if self.console.is_terminal:  # one screen line each; a log or a pipe gets it whole
            self.console.print(line, no_wrap=True, overflow="ellipsis", crop=True)
        else:
            self.console.print(line, soft_wrap=True)


def step_name(record: logging.LogRecord) -> str:
    """The step a run record belongs to: the task run's name when the task names its runs
    ("stage-students"), else the task's ("find_new_files"); for a flow, its run name."""
    task_run = getattr(record, "task_run_name", None)
    if task_run:
        task = getattr(record, "task_name", None) or _GENERATED.sub("", task_run)
        return task if _GENERATED.search(task_run) else task_run
    return getattr(record, "flow_run_name", None) or ""


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


@contextmanager
def run_progress(
    log_file: Path, console: Console | None = None, restore: bool = True
) -> Iterator[Path]:
    """For the duration of a run: step lines on the terminal, the whole log in log_file.
    Prefect's console handlers (on the root logger and Prefect's internal loggers) are set
    aside and put back after, unless restore is False (a command that ends with the run:
    Prefect's news at exit, such as stopping its temporary API, go to the file too); its API
    handler keeps sending every record to the API."""
    console = console or Console(stderr=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(log_file, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    steps = StepLines(console)
    swapped: list[tuple[logging.Logger, logging.Handler]] = []
    for logger in _loggers_writing_to_the_terminal():
        for handler in list(logger.handlers):
            if _writes_to_terminal(handler):
                logger.removeHandler(handler)
                swapped.append((logger, handler))
    root = logging.getLogger()
    for logger in {root, *(logger for logger, _ in swapped)}:
        logger.addHandler(to_file)
    root.addHandler(steps)
    status = console.status("running ...", spinner="dots") if console.is_terminal else nullcontext()
    try:
        with status:
            yield log_file
    finally:
        root.removeHandler(steps)
        if restore:
            for logger in {root, *(logger for logger, _ in swapped)}:
                logger.removeHandler(to_file)
            for logger, handler in swapped:
                logger.addHandler(handler)
            to_file.close()


def _loggers_writing_to_the_terminal() -> list[logging.Logger]:
    names = [name for name in logging.root.manager.loggerDict if name.startswith("prefect")]
    loggers = [logging.getLogger(name) for name in names]
    return [logging.getLogger(), *loggers]


def _writes_to_terminal(handler: logging.Handler) -> bool:
    """Prefect's console handlers: stream handlers on stderr or stdout, not files."""
    stream = getattr(handler, "stream", None)
    return not isinstance(handler, logging.FileHandler) and stream in (sys.stderr, sys.stdout)
