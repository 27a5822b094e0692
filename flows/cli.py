"""The `pdbi` command: parses options, then calls a flow or starts the app."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tasks.errors import PdbiError
from tasks.settings import CASE_STUDY_DATE, get_settings

app = typer.Typer(
    help="pdbi: the study platform's BI pipeline (lake -> PostgreSQL -> Spark -> Panel).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The warehouse database: migrations and status.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()
err = Console(stderr=True)

DateOption = Annotated[
    datetime | None,
    typer.Option(
        "--date", formats=["%Y-%m-%d"], help="Day to process (PDBI_RUN_DATE; default today)."
    ),
]


def _fail(exc: PdbiError) -> None:
    err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _run_date(value: datetime | None) -> date:
    return value.date() if value else get_settings().run_date


@app.command()
def generate(
    scale: Annotated[
        float, typer.Option(help="1 is the full-size day; 0.01 a small test set.")
    ] = 0.01,
    seed: Annotated[int, typer.Option(help="Same seed and scale give the same bytes.")] = 7,
    day: DateOption = None,
) -> None:
    """Write a realistic synthetic day into the lake: BASE A exports to transactional/<date>/,
    BASE B page views to raw/<date>/. Reads PDBI_LAKE_URL."""
    from tasks.generate import generate as write_day
    from tasks.resources.lake import get_lake

    run_date = day.date() if day else CASE_STUDY_DATE
    try:
        counts = write_day(get_lake(), scale=scale, seed=seed, run_date=run_date)
    except PdbiError as exc:
        _fail(exc)
    table = Table("file", "records", title=f"Generated {run_date} at scale {scale} (seed {seed})")
    for name, count in counts.items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    console.print(f"Lake: {get_lake().url}. Next: [bold]pdbi run --date {run_date}[/]")


@app.command()
def run(day: DateOption = None) -> None:
    """Run the daily pipeline for one day as a Prefect flow: stage, warehouse, Spark, publish.
    Reads PDBI_DATABASE_URL (unset: embedded PostgreSQL), PDBI_LAKE_URL, PDBI_SPARK_MASTER,
    PDBI_JAVA_HOME, PDBI_RUN_DATE and Prefect's PREFECT_API_URL (unset: a local ephemeral API)."""
    from flows.daily import daily_pipeline
    from tasks.preflight import check_prerequisites

    try:
        for line in check_prerequisites():  # bad settings fail here, in one sentence
            console.print(line, highlight=False)
        summary = daily_pipeline(_run_date(day))
    except PdbiError as exc:
        _fail(exc)
    table = Table("entity", "read", "loaded", "rejected", title=f"Stage, {summary.run_date}")
    for c in summary.staged:
        table.add_row(c.entity, f"{c.rows_read:,}", f"{c.rows_loaded:,}", f"{c.rows_rejected:,}")
    console.print(table)
    outputs = Table("analytics file", "rows", title="Published")
    for name, rows in summary.outputs.items():
        outputs.add_row(name, f"{rows:,}")
    console.print(outputs)
    events = ", ".join(f"{k} {v:,}" for k, v in summary.events.items())
    console.print(f"Events: {events}. Next: [bold]pdbi serve[/] to open the dashboard.")


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
    app()
