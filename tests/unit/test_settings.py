"""Bad settings fail fast with one sentence that names the setting and the fix."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tasks.errors import ConfigError
from tasks.resources import postgres
from tasks.resources.lake import Lake, get_lake
from tasks.settings import Settings, get_settings

pytestmark = pytest.mark.unit


def test_defaults_are_the_embedded_laptop_setup(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for var in ("PDBI_DATA_DIR", "PDBI_LAKE_URL", "PDBI_SPARK_MASTER", "PDBI_SPARK_DRIVER_MEMORY"):
        monkeypatch.delenv(var)
    settings = Settings()  # the working folder is tmp_path (the isolated_settings fixture)
    assert settings.database_url is None
    assert settings.lake_url == str(tmp_path.resolve() / "data" / "lake")
    assert settings.data_dir == tmp_path.resolve() / "data"
    assert settings.spark_master == "local[*]"
    assert settings.run_date == date.today()


def test_environment_and_ecosystem_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PDBI_SPARK_MASTER")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:pw@db/x")
    monkeypatch.setenv("SPARK_MASTER", "spark://cluster:7077")
    monkeypatch.setenv("PDBI_RUN_DATE", "2017-11-16")
    settings = Settings()
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value() == "postgresql://u:pw@db/x"
    assert "pw" not in repr(settings)  # the password never shows in a repr or a log
    assert settings.spark_master == "spark://cluster:7077"
    assert settings.run_date == date(2017, 11, 16)


def test_every_path_setting_is_absolute_once_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Relative paths are resolved against the working folder when the settings are read, so
    a library that insists on absolute paths (GX's Data Docs) or a process started elsewhere
    (Spark, pgserver) sees the same folder."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PDBI_DATA_DIR", "work/data")
    monkeypatch.setenv("PDBI_LAKE_URL", "../lake")
    monkeypatch.setenv("PDBI_GDRIVE_CREDENTIALS", "~/drive.json")
    monkeypatch.setenv("PDBI_JDBC_JAR", "jars/postgresql.jar")
    monkeypatch.setenv("PDBI_JAVA_HOME", "jdk")
    settings = Settings()
    root = tmp_path.resolve()
    assert settings.data_dir == root / "work" / "data"
    assert settings.lake_url == str(root.parent / "lake")
    assert settings.gdrive_credentials == home.resolve() / "drive.json"
    assert settings.jdbc_jar == root / "jars" / "postgresql.jar"
    assert settings.java_home == root / "jdk"
    for url in ("memory://lake", "s3://bucket/lake", "gdrive://folder-id", "file:///srv/lake"):
        monkeypatch.setenv("PDBI_LAKE_URL", url)
        assert Settings().lake_url == url


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PDBI_LAKE_URL=memory://from-dotenv\n")
    monkeypatch.delenv("PDBI_LAKE_URL")
    assert Settings().lake_url == "memory://from-dotenv"


def test_unknown_lake_scheme_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDBI_LAKE_URL", "nosuchscheme://bucket/lake")
    get_settings.cache_clear()
    with pytest.raises(ConfigError) as info:
        get_lake()
    message = str(info.value)
    assert message.startswith("PDBI_LAKE_URL='nosuchscheme://bucket/lake' cannot be opened")
    assert "fsspec URL" in message
    assert "\n" not in message


def test_memory_lake_round_trip() -> None:
    lake = Lake("memory://settings-test")
    with lake.write_atomic("analytics", "x.csv") as handle:
        handle.write(b"a,b\n")
    assert lake.read_bytes("analytics", "x.csv") == b"a,b\n"
    assert lake.list("analytics") == ["x.csv"]


def test_unreachable_database_names_the_setting_and_hides_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # port 1 on loopback: nothing listens there, the refusal is immediate
    monkeypatch.setenv("PDBI_DATABASE_URL", "postgresql://pdbi:s3cr3t-pw@127.0.0.1:1/warehouse")
    get_settings.cache_clear()
    postgres.database_url.cache_clear()
    with pytest.raises(ConfigError) as info:
        postgres.check_database()
    message = str(info.value)
    assert message.startswith(
        "PDBI_DATABASE_URL: cannot connect to postgresql://pdbi:***@127.0.0.1:1/"
    )
    assert "unset PDBI_DATABASE_URL to use the embedded PostgreSQL" in message
    assert "s3cr3t-pw" not in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:pw@h/db", "postgresql://u:***@h/db"),
        ("user=u password=pw host=h", "user=u password=*** host=h"),
        ("postgresql://u@h/db?password=pw", "postgresql://u@h/db?password=***"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
    ],
)
def test_mask_url(url: str, expected: str) -> None:
    assert postgres.mask_url(url) == expected
