"""The `pdbi` command: help that names settings, bad settings as one sentence and exit 1."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("command", "setting"),
    [
        (["run"], "PDBI_DATABASE_URL"),
        (["generate"], "PDBI_LAKE_URL"),
        (["serve"], "PDBI_SERVE_ADDRESS"),
        (["db", "init"], "PDBI_DATABASE_URL"),
    ],
)
def test_help_names_the_settings_read(command: list[str], setting: str) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert setting in result.output


def test_run_with_an_unknown_lake_scheme_fails_in_one_sentence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PDBI_LAKE_URL", "nosuchscheme://lake")
    result = runner.invoke(app, ["run", "--date", "2017-11-16"])
    assert result.exit_code == 1
    assert "error: PDBI_LAKE_URL='nosuchscheme://lake' cannot be opened" in result.output
    assert "Traceback" not in result.output


def test_run_with_an_unreachable_database_fails_in_one_sentence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "lake").mkdir()
    monkeypatch.setenv("PDBI_DATABASE_URL", "postgresql://pdbi:hunter2@127.0.0.1:1/x")
    result = runner.invoke(app, ["run", "--date", "2017-11-16"])
    assert result.exit_code == 1
    assert "error: PDBI_DATABASE_URL: cannot connect to postgresql://pdbi:***@127.0.0.1:1/x" in (
        result.output.replace("\n", "")
    )
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "value"),
    [
        (["run", "--date", "2017-13-45"], "2017-13-45"),
        (["run", "--date", "16/11/2017"], "16/11/2017"),
        (["run", "--date", "20171116"], "20171116"),
        (["run", "--from", "2017-02-30", "--to", "2017-03-01"], "2017-02-30"),
        (["generate", "--date", "yesterday"], "yesterday"),
    ],
)
def test_a_bad_date_is_named_with_the_form_to_write(args: list[str], value: str) -> None:
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert f"'{value}' is not a date; write it as YYYY-MM-DD, e.g. 2017-11-16" in result.output


@pytest.mark.parametrize("scale", ["0", "-1", "nan"])
def test_generate_refuses_a_scale_not_above_zero(scale: str, tmp_path) -> None:
    result = runner.invoke(app, ["generate", "--scale", scale], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "is not above 0" in result.output
    assert not (tmp_path / "lake").exists()  # nothing written


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2999-01-01"], "run_date 2999-01-01 is in the future"),
        (["--from", "2017-11-20", "--to", "2017-11-16"], "--from 2017-11-20 is after --to"),
        (["--from", "2017-11-16"], "give --date, or both --from and --to"),
    ],
)
def test_a_day_that_cannot_run_is_refused_before_anything_runs(
    args: list[str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PDBI_DATABASE_URL", "postgresql://pdbi@127.0.0.1:1/x")  # never reached
    result = runner.invoke(app, ["run", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert message in result.output
    assert "cannot connect" not in result.output


@pytest.mark.parametrize("command", [["deploy"], ["worker"]])
def test_deploy_and_worker_without_a_prefect_api_fail_in_one_sentence(
    command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings({PREFECT_API_URL: None}):
        result = runner.invoke(app, command, env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "error: PREFECT_API_URL is not set" in result.output
    assert "Traceback" not in result.output


def test_a_lake_that_does_not_exist_is_named_before_anything_is_created(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PDBI_LAKE_URL", str(tmp_path / "typo-lake"))
    monkeypatch.setenv("PDBI_DATABASE_URL", "postgresql://pdbi@127.0.0.1:1/x")  # never reached
    result = runner.invoke(app, ["run", "--date", "2017-11-16"], env={"COLUMNS": "300"})
    assert result.exit_code == 1
    assert f"error: PDBI_LAKE_URL: the lake {tmp_path / 'typo-lake'} does not exist" in (
        result.output
    )
    assert "cannot connect" not in result.output and "The whole log" not in result.output
    assert not (tmp_path / "typo-lake").exists()


def test_every_missing_export_is_listed_at_once(tmp_path: Path) -> None:
    from tasks.entities import SOURCES
    from tasks.errors import DataError
    from tasks.preflight import check_days
    from tasks.resources.lake import get_lake

    days = [date(2017, 11, 15), date(2017, 11, 16)]
    for name, entity in SOURCES.items():  # the 16th lacks students and its events
        if name not in ("students", "events"):
            file = tmp_path / "lake" / entity.zone / "2017-11-16" / entity.file_name
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text("[]", encoding="utf-8")
    with pytest.raises(DataError) as failure:
        check_days(days)
    listed = [f"{e.zone}/2017-11-15/{e.file_name}" for e in SOURCES.values()] + [
        "transactional/2017-11-16/students.json",
        "raw/2017-11-16/part-*.json",
    ]
    message = str(failure.value)
    assert message.startswith("10 exports of 2017-11-15, 2017-11-16 are missing from the lake at ")
    assert ", ".join(listed) in message and "nothing was loaded" in message
    # a part file removed after its backup counts as there: the run restores it
    backup = tmp_path / "lake" / "temp" / "2017-11-16" / "raw" / "part-00000.json"
    backup.parent.mkdir(parents=True)
    backup.write_text("{}\n", encoding="utf-8")
    (tmp_path / "lake" / "transactional" / "2017-11-16" / "students.json").write_text("[]")
    check_days(days[1:])
    assert get_lake().list("raw", "2017-11-16/*") == []  # and nothing was written


def test_a_new_database_names_its_migrations_in_one_short_line() -> None:
    from tasks.preflight import applied_line
    from tasks.resources.postgres import migration_files

    names = [path.name for path in migration_files()]  # in the order they apply
    assert len(names) > 2
    line = applied_line(names)
    assert line == f"applied {len(names)} migrations, {names[0]} to {names[-1]}"
    assert len(line) < 80  # was every name: 500 characters
    assert applied_line(names[-2:]) == f"applied {names[-2]}, {names[-1]}"  # an upgrade: each
