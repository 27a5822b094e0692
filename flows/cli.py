"""The `pdbi` command: parses options, then calls a flow or starts the app."""

from __future__ import annotations

import os
import re
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from tasks.errors import PdbiError
from tasks.progress import first_line
from tasks.settings import CASE_STUDY_DATE, get_settings, mask_text

if TYPE_CHECKING:
    from tasks.summary import RunSummary

app = typer.Typer(
    help="pdbi: the study platform's BI pipeline (lake -> PostgreSQL -> Spark -> Panel).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The warehouse database: migrations and status.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()
err = Console(stderr=True)


def parse_day(value: str | date) -> date:
    """A day written YYYY-MM-DD; anything else is refused with the form to use."""
    if isinstance(value, date):
        return value
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            return date.fromisoformat(value.strip())
    except ValueError:
        pass  # 2017-13-45: the right shape, not a day
    raise typer.BadParameter(f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2017-11-16")


DateOption = Annotated[
    date | None,
    typer.Option(
        "--date",
        parser=parse_day,
        metavar="YYYY-MM-DD",
        help="Day to process (PDBI_RUN_DATE; default today).",
    ),
]


def _fail(exc: PdbiError | str, log_file: Path | None = None) -> NoReturn:
    err.print(f"[bold red]error:[/] {mask_text(str(exc))}", highlight=False, soft_wrap=True)
    if log_file is not None:
        err.print(f"The whole log: {log_file}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def main() -> None:
    """The `pdbi` entry point: a setting that cannot be read, wherever a command first reads
    it, ends the command in one sentence, not a traceback."""
    # the Prefect server a command starts (the temporary API, `pdbi ui`) sends Prefect no
    # usage telemetry unless the user asks for it; offline, its attempt printed an ERROR line
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    try:
        app()
    except PdbiError as exc:
        err.print(f"[bold red]error:[/] {mask_text(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(1)


def _run_date(value: date | None) -> date:
    return value or get_settings().run_date


@app.command()
def generate(
    scale: Annotated[
        float,
        typer.Option(
            help="Above 0: 1 is the full-size day; 0.01 a small test set.",
            callback=lambda value: _above_zero("--scale", value),
        ),
    ] = 0.01,
    seed: Annotated[int, typer.Option(help="Same seed and scale give the same bytes.")] = 7,
    day: DateOption = None,
) -> None:
    """Write a realistic synthetic day into the lake: BASE A exports to transactional/<date>/,
    BASE B page views to raw/<date>/. Reads PDBI_LAKE_URL."""
    from tasks.generator.day import generate as write_day
    from tasks.resources.lake import get_lake

    run_date = day or CASE_STUDY_DATE
    try:
        counts = write_day(get_lake(), scale=scale, seed=seed, run_date=run_date)
    except PdbiError as exc:
        _fail(exc)
    table = Table("file", "records", title=f"Generated {run_date} at scale {scale} (seed {seed})")
    for name, count in counts.items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    console.print(f"Lake: {get_lake().url}. Next: [bold]pdbi run --date {run_date}[/]")


def _above_zero(option: str, value: float) -> float:
    if not value > 0:  # also refuses nan
        raise typer.BadParameter(f"{value:g} is not above 0; {option} 1 is the full-size day")
    return value


FromOption = Annotated[
    date | None,
    typer.Option(
        "--from",
        parser=parse_day,
        metavar="YYYY-MM-DD",
        help="First day of a backfill (with --to).",
    ),
]
ToOption = Annotated[
    date | None,
    typer.Option(
        "--to", parser=parse_day, metavar="YYYY-MM-DD", help="Last day of a backfill, included."
    ),
]


@app.command()
def run(day: DateOption = None, start: FromOption = None, end: ToOption = None) -> None:
    """Run the daily pipeline for one day as a Prefect flow: stage, warehouse, Spark, publish;
    or, with --from and --to, one run per day of the range, in order, stopping at the first
    failure. Reads PDBI_DATABASE_URL (unset: embedded PostgreSQL), PDBI_LAKE_URL,
    PDBI_SPARK_MASTER, PDBI_JAVA_HOME, PDBI_RUN_DATE, PDBI_RUN_LOCK_TIMEOUT_SECONDS and
    Prefect's PREFECT_API_URL (unset: a local ephemeral API)."""
    from flows.backfill import backfill
    from flows.daily import daily_pipeline
    from tasks.preflight import check_days, check_prerequisites
    from tasks.progress import run_progress
    from tasks.run_date import days_between, not_in_future
    from tasks.summary import IncompleteRun

    if (start is None) != (end is None) or (start is not None and day is not None):
        err.print("[bold red]error:[/] give --date, or both --from and --to", highlight=False)
        raise typer.Exit(2)
    try:  # a day that cannot be run is refused before anything runs
        days = days_between(start, end) if start and end else [_run_date(day)]
        for one in days:
            not_in_future(one)
    except ValueError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    log_file = get_settings().data_dir / "logs" / f"run-{datetime.now():%Y%m%dT%H%M%S}.log"
    started = False  # the flow began: its log is worth pointing at
    try:
        # a line per step on the terminal, the whole log in log_file, until the process ends
        with run_progress(log_file, restore=False):
            for line in check_prerequisites():  # bad settings fail here, in one sentence
                console.print(line, highlight=False)
            check_days(days)  # every missing export, before anything is loaded
            started = True
            if start is not None and end is not None:
                summaries = backfill(start, end)
            else:
                summaries = [daily_pipeline(days[0])]
    except IncompleteRun as exc:  # loaded and published, the Data Docs broken
        _print_summary(exc.summary)
        _fail(exc, log_file)
    except PdbiError as exc:
        _fail(exc, log_file if started else None)
    except Exception as exc:  # a step's unexpected failure: one line here, the trace in the log
        _fail(f"{type(exc).__name__}: {first_line(str(exc))}", log_file)
    for summary in summaries:
        _print_summary(summary)
    err.print(f"Log: {log_file}", highlight=False, soft_wrap=True)
    console.print("Next: [bold]pdbi serve[/] to open the dashboard.")


def _print_summary(summary: RunSummary) -> None:
    table = Table("entity", "read", "loaded", "rejected", title=f"Stage, {summary.run_date}")
    for c in summary.staged:
        table.add_row(c.entity, f"{c.rows_read:,}", f"{c.rows_loaded:,}", f"{c.rows_rejected:,}")
    console.print(table)
    outputs = Table("analytics file", "rows", title="Published")
    for name, rows in summary.outputs.items():
        outputs.add_row(name, f"{rows:,}")
    console.print(outputs)
    events = ", ".join(f"{k} {v:,}" for k, v in summary.events.items())
    console.print(f"Events: {events}.")
    docs = summary.data_docs
    if docs is not None:
        state = f"[bold red]unavailable[/]: {docs.error}" if docs.error else docs.url
        console.print(f"Data Docs: {state}", highlight=False, soft_wrap=True)
        for warning in docs.warnings:
            console.print(f"[yellow]⚠[/] {warning}", highlight=False, soft_wrap=True)
    if summary.replayed:
        days = ", ".join(d.isoformat() for d in summary.replayed)
        console.print(f"Loaded again after {summary.run_date} (archived exports): {days}.")


@app.command()
def deploy(
    name: Annotated[
        list[str] | None,
        typer.Option("--name", help="Only this deployment of deployments/prefect.yaml; repeat."),
    ] = None,
) -> None:
    """Register the deployments of deployments/prefect.yaml (process, Docker, Kubernetes work
    pools; nightly at 03:00 America/Sao_Paulo) against PREFECT_API_URL, creating the missing
    work pools of deployments/work-pools.yaml first. Reads PREFECT_API_URL and PDBI_IMAGE."""
    from tasks.resources.prefect_deploy import api_url
    from tasks.resources.prefect_deploy import deploy as register

    try:
        url = api_url()
        names = register(name)
    except PdbiError as exc:
        _fail(exc)
    for deployment in names:
        console.print(f"registered daily-pipeline/{deployment} at {url}", highlight=False)
    console.print("Next: [bold]pdbi worker --pool pdbi-process[/] runs them on this machine.")


@app.command()
def worker(
    pool: Annotated[str, typer.Option(help="Work pool to take runs from.")] = "pdbi-process",
    limit: Annotated[
        int | None, typer.Option(help="Most flow runs at once (default: no limit).")
    ] = None,
) -> None:
    """Start a Prefect worker for a work pool; it runs the pool's flow runs until Ctrl+C. Reads
    PREFECT_API_URL; the flow runs read the pdbi settings of this environment."""
    from tasks.resources.prefect_deploy import api_url, prefect_command

    try:
        api_url()
    except PdbiError as exc:
        _fail(exc)
    command = prefect_command("worker", "start", "--pool", pool)
    if limit is not None:
        command += ["--limit", str(limit)]
    os.execv(command[0], command)  # the worker replaces this process: signals reach it


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port of the API and UI.")] = 4200,
) -> None:
    """Start a Prefect server with its UI on 127.0.0.1 (its state in PREFECT_HOME); then
    export PREFECT_API_URL=http://127.0.0.1:<port>/api for pdbi run, deploy and worker."""
    from tasks.resources.prefect_deploy import prefect_command

    console.print(
        f"Prefect UI on http://127.0.0.1:{port}/ ; in other shells: "
        f"export PREFECT_API_URL=http://127.0.0.1:{port}/api",
        highlight=False,
    )
    command = prefect_command("server", "start", "--host", "127.0.0.1", "--port", str(port))
    os.execv(command[0], command)


@app.command()
def serve(
    address: Annotated[str | None, typer.Option(help="Bind address (PDBI_SERVE_ADDRESS).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (PDBI_SERVE_PORT).")] = None,
) -> None:
    """Serve the Panel dashboard: the analytics zone, the Data Docs of the reports zone, the
    warehouse's validations and run history. Reads PDBI_LAKE_URL, PDBI_SERVE_ADDRESS (default
    127.0.0.1; 0.0.0.0 opens it to the network), PDBI_SERVE_PORT (default 5006),
    PDBI_DATABASE_URL, PDBI_DASHBOARD_RELOAD_SECONDS, PDBI_DASHBOARD_DOWNLOAD_ROWS and Prefect's
    PREFECT_API_URL (the Pipeline page's first source)."""
    from panel_app.app import serve as serve_app

    settings = get_settings()
    address = address or settings.serve_address
    port = port or settings.serve_port
    console.print(f"Dashboard on http://{address}:{port}/ (Ctrl+C stops it)")
    serve_app(address=address, port=port, show=False)


@app.command()
def bench(
    scale: Annotated[
        list[float] | None, typer.Option(help="Repeatable: --scale 0.25 --scale 1 --scale 4.")
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option(help="Repeatable; a benchmark of bench/ (default all).")
    ] = None,
    report: Annotated[
        bool,
        typer.Option(help="The full report: the pipeline at scales 0.25, 1 and 4, the rest at 1."),
    ] = False,
    results: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the JSON (default: bench/results/ in a source checkout, "
            "else ./bench-results/)."
        ),
    ] = None,
) -> None:
    """Run the benchmarks, each against a floor measured in the same run; JSON with machine
    facts goes to bench/results/ (or --results), the Markdown table to the terminal (see
    BENCHMARKS.md). Each benchmark uses its own temporary lake and embedded database."""
    from bench.__main__ import main as bench_main

    argv = [f"--scale={s}" for s in scale or []] + [f"--only={o}" for o in only or []]
    bench_main(argv + ["--report"] * report + [f"--results={results}"] * (results is not None))


@db_app.command("init")
def db_init() -> None:
    """Apply the pending migrations of sql/migrations, then create the loader role (owns the
    schemas) and the read-only reporting role. Reads PDBI_DATABASE_URL (unset: the embedded
    PostgreSQL in PDBI_DATA_DIR, started on demand and reused), PDBI_LOADER_ROLE and
    PDBI_REPORTING_ROLE."""
    from tasks.resources import postgres

    try:
        console.print(f"Using {postgres.check_database()}")
        with postgres.connect() as conn:
            applied = postgres.apply_migrations(conn)
            roles = postgres.ensure_roles(conn)
    except PdbiError as exc:
        _fail(exc)
    console.print(f"Applied: {', '.join(applied)}" if applied else "Up to date.")
    settings = get_settings()
    console.print(
        f"Roles: {settings.loader_role} owns the schemas, {settings.reporting_role} reads"
        + (f" (created {', '.join(roles)})" if roles else "")
    )


@db_app.command("status")
def db_status() -> None:
    """Show which migrations are applied. Reads PDBI_DATABASE_URL."""
    from tasks.resources import postgres

    try:
        console.print(f"Using {postgres.check_database()}")
        with postgres.connect() as conn:
            status = postgres.migration_status(conn)
    except PdbiError as exc:
        _fail(exc)
    table = Table("migration", "applied at")
    for name, applied_at in status:
        table.add_row(name, applied_at or "[yellow]pending[/]")
    console.print(table)


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL that pdbi leaves running for reuse. Reads PDBI_DATA_DIR."""
    from tasks.resources import postgres

    stopped = postgres.stop_embedded()
    console.print("Embedded PostgreSQL stopped." if stopped else "No embedded PostgreSQL running.")


if __name__ == "__main__":
    main()
