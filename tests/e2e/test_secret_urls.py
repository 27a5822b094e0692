"""`pdbi` commands given a database URL in any form: the password never reaches the terminal.

Each command runs as a process, as a user runs it. The forms pdbi reads work or fail to
connect in one masked sentence; the forms it refuses fail in one sentence that names the
setting, masks the password and lists the accepted forms, before anything starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
PASSWORD = "FAKE-secret-Pw-9"
PDBI = Path(sys.executable).with_name("pdbi")
# (form, value, what stderr starts with)
CASES = [
    ("SQLAlchemy spelling", f"postgresql+psycopg://ana:{PASSWORD}@127.0.0.1:1/wh",
     "error: PDBI_DATABASE_URL: cannot connect to postgresql://ana:***@127.0.0.1:1/wh"),
    ("postgres", f"postgres://ana:{PASSWORD}@127.0.0.1:1/wh",
     "error: PDBI_DATABASE_URL: cannot connect to postgresql://ana:***@127.0.0.1:1/wh"),
    ("reserved characters", f"postgresql://ana:{PASSWORD}/@x@127.0.0.1:1/wh",
     "error: PDBI_DATABASE_URL: cannot connect to postgresql://ana:***@127.0.0.1:1/wh"),
    ("key=value", f"host=127.0.0.1 port=1 dbname=wh user=ana password={PASSWORD}",
     "error: PDBI_DATABASE_URL: cannot connect to host=127.0.0.1 port=1 dbname=wh user=ana "
     "password=***"),
    ("mysql", f"mysql://ana:{PASSWORD}@db/wh",
     "error: PDBI_DATABASE_URL is not a PostgreSQL URL ('mysql://ana:***@db/wh')"),
    ("no scheme", f"ana:{PASSWORD}@db/wh",
     "error: PDBI_DATABASE_URL is not a PostgreSQL URL ('ana:***@db/wh')"),
    ("unknown parameter", f"postgresql://ana:{PASSWORD}@db/wh?colour=blue",
     "error: PDBI_DATABASE_URL cannot be read ('postgresql://ana:***@db/wh?colour=blue'"),
]  # fmt: skip


@pytest.mark.parametrize("command", [["run", "--date", "2017-11-16"], ["db", "status"]])
@pytest.mark.parametrize(("form", "value", "expected"), CASES, ids=[c[0] for c in CASES])
def test_the_terminal_never_shows_the_password(
    tmp_path: Path, command: list[str], form: str, value: str, expected: str
) -> None:
    (tmp_path / "data" / "lake").mkdir(parents=True)  # a lake to run on: the database fails
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PDBI_", "PREFECT_API"))}
    env.update(PDBI_DATABASE_URL=value, PREFECT_HOME=str(tmp_path / ".prefect"), COLUMNS="300")
    done = subprocess.run([str(PDBI), *command], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(expected), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
