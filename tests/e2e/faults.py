"""Instruments of the fault tests: the day they run on, databases, and ways to break a run.

A fault is injected at a point observed from outside the pipeline, never by patching its code:
- `pause_on(conn, table, ...)` adds a trigger to a table that sleeps the first time it fires
  (a sequence counts the hits: sequences are not rolled back, so a retry never sleeps again).
  A backend sleeping there is found in pg_stat_activity with its statement, which is what the
  watchers wait for: then the test terminates it, stops the server or kills the pipeline.
- `watch_backends` polls pg_stat_activity from a side thread and runs an action once.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

import psycopg
from psycopg import sql

from tasks.generator.day import generate
from tasks.resources.lake import Lake
from tests.conftest import SERVER_URL

DAY = date(2017, 11, 16)
D = DAY.isoformat()
SCALE, SEED = 0.002, 3  # ~400 students, 2,000 events: every path runs, in seconds
LATE_PART = f"{D}/part-00001.json"  # a second part file, written beside the generator's one


def late_part(lake: Lake) -> bytes:
    """A second part file of the day: the first 200 events of part 0 under new ids."""
    lines = lake.read_bytes("raw", f"{D}/part-00000.json").decode("utf-8").splitlines()[:200]
    events = [json.dumps({**json.loads(line), "uuid": f"late-{i}"}) for i, line in enumerate(lines)]
    return ("\n".join(events) + "\n").encode("utf-8")


def write_day(lake: Lake) -> None:
    """The day every fault test runs on (deterministic: same bytes every time)."""
    generate(lake, scale=SCALE, seed=SEED, run_date=DAY)
    data = late_part(lake)
    with lake.write_atomic("raw", LATE_PART) as out:
        out.write(data)


@contextmanager
def server_database(prefix: str = "pdbi_fault") -> Iterator[str]:
    """A fresh database on the 127.0.0.1 server, dropped afterwards; yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(SERVER_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        yield psycopg.conninfo.make_conninfo(SERVER_URL, dbname=name)
    finally:
        with psycopg.connect(SERVER_URL, autocommit=True) as admin:
            admin.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )


PAUSE_FUNCTION = """
create sequence if not exists public.fault_hits;
create or replace function public.fault_pause() returns trigger language plpgsql as $$
begin
    if nextval('public.fault_hits') = 1 then
        perform pg_sleep(tg_argv[0]::float);
    end if;
    return null;
end
$$;
"""


def pause_on(
    conn: psycopg.Connection, table: str, seconds: float = 30, each_row: bool = False
) -> None:
    """The first insert into `table` (schema.name) sleeps `seconds` inside its statement: per
    row for a COPY (so the pause comes with rows already in), per statement otherwise."""
    schema, name = table.split(".")
    conn.execute(PAUSE_FUNCTION)
    conn.execute(
        sql.SQL(
            "create trigger fault_pause after insert on {} for each {} "
            "execute function public.fault_pause({})"
        ).format(
            sql.Identifier(schema, name),
            sql.SQL("row" if each_row else "statement"),
            sql.Literal(str(seconds)),
        )
    )
    conn.commit()


def remove_pauses(conn: psycopg.Connection) -> None:
    """Drop every instrument (the triggers go with the function)."""
    conn.execute("drop function if exists public.fault_pause() cascade")
    conn.execute("drop sequence if exists public.fault_hits")
    conn.commit()


@dataclass
class Sighting:
    pid: int
    query: str


@dataclass
class BackendWatch:
    """What a watcher saw and did; `error` holds an exception of the side thread."""

    seen: list[Sighting] = field(default_factory=list)
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def wait(self, timeout: float = 5) -> None:
        if self.thread is not None:
            self.thread.join(timeout)
        if self.error is not None:
            raise self.error


FIND_PAUSED = """
select pid, query from pg_stat_activity
where datname = %s and pid <> pg_backend_pid() and wait_event = 'PgSleep'
    and query ilike %s
"""


def watch_backends(
    admin_url: str,
    dbname: str,
    statement: str,
    action: Callable[[Sighting], None],
    timeout: float = 180,
) -> BackendWatch:
    """A side thread: wait for a backend of `dbname` paused inside a statement matching the
    ILIKE pattern `statement`, then run `action` once with what it saw."""
    watch = BackendWatch()

    def run() -> None:
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and not watch.done.is_set():
                with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
                    rows = conn.execute(FIND_PAUSED, (dbname, statement)).fetchall()
                if rows:
                    sighting = Sighting(*rows[0])
                    watch.seen.append(sighting)
                    action(sighting)
                    return
                time.sleep(0.1)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            watch.error = exc

    watch.thread = threading.Thread(target=run, name=f"watch-{dbname}", daemon=True)
    watch.thread.start()
    return watch


def terminate(admin_url: str) -> Callable[[Sighting], None]:
    """An action: pg_terminate_backend on the backend seen."""

    def act(seen: Sighting) -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute("select pg_terminate_backend(%s)", (seen.pid,))

    return act
