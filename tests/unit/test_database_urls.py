"""Database URLs: every form users paste is read the same, anything else fails in one sentence
that names the setting, masks the password and lists the accepted forms."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict

from tasks.errors import ConfigError
from tasks.settings import get_settings, mask_url

pytestmark = pytest.mark.unit

PASSWORD = "Pw-4sure"
ACCEPTED = {
    "postgresql": f"postgresql://ana:{PASSWORD}@db.example:5433/warehouse",
    "postgres": f"postgres://ana:{PASSWORD}@db.example:5433/warehouse",
    "SQLAlchemy": f"postgresql+psycopg://ana:{PASSWORD}@db.example:5433/warehouse",
    "padded": f"  postgresql://ana:{PASSWORD}@db.example:5433/warehouse\n",
    "key=value": f"host=db.example port=5433 dbname=warehouse user=ana password={PASSWORD}",
}
REJECTED = {
    "mysql": f"mysql://ana:{PASSWORD}@db.example/warehouse",
    "no scheme": f"ana:{PASSWORD}@db.example/warehouse",
    "sqlite": "sqlite:///warehouse.db",
    "jdbc": f"jdbc:postgresql://db.example/warehouse?user=ana&password={PASSWORD}",
    "psycopg2 driver": f"postgresql+psycopg2://ana:{PASSWORD}@db.example/warehouse",
    "unknown parameter": f"postgresql://ana:{PASSWORD}@db.example/warehouse?colour=blue",
    "bad key=value": f"host=db.example password={PASSWORD} dbname",
    "a word": "warehouse",
}
# What a password pasted unencoded may hold; each must reach libpq as the password, whole.
RAW_PASSWORDS = ["p/ss", "p@ss", "p ss", "p#ss", "p?ss", "p%zz", "p:ss", "50%off", "p%40ss"]


def configured(monkeypatch: pytest.MonkeyPatch, value: str, var: str = "PDBI_DATABASE_URL"):
    monkeypatch.setenv(var, value)
    get_settings.cache_clear()
    return get_settings()


@pytest.mark.parametrize("form", sorted(ACCEPTED))
@pytest.mark.parametrize("var", ["PDBI_DATABASE_URL", "DATABASE_URL", "PDBI_REPORTING_URL"])
def test_every_accepted_form_reads_as_the_same_connection(
    monkeypatch: pytest.MonkeyPatch, form: str, var: str
) -> None:
    settings = configured(monkeypatch, ACCEPTED[form], var)
    secret = settings.reporting_url if var == "PDBI_REPORTING_URL" else settings.database_url
    assert secret is not None
    value = secret.get_secret_value()
    assert value.startswith("postgresql://") or form == "key=value"
    expected = {"host": "db.example", "port": "5433", "dbname": "warehouse", "user": "ana",
                "password": PASSWORD}  # fmt: skip
    assert conninfo_to_dict(value) == expected
    assert PASSWORD not in repr(settings)


@pytest.mark.parametrize("form", sorted(REJECTED))
@pytest.mark.parametrize("var", ["PDBI_DATABASE_URL", "DATABASE_URL", "PDBI_REPORTING_URL"])
def test_anything_else_fails_in_one_sentence_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, form: str, var: str
) -> None:
    with pytest.raises(ConfigError) as failure:
        configured(monkeypatch, REJECTED[form], var)
    message = str(failure.value)
    assert message.startswith(f"{var} "), message
    assert PASSWORD not in message
    if PASSWORD in REJECTED[form]:
        assert "***" in message
    assert "postgresql://user:password@host:5432/database" in message
    assert "postgres://" in message and "postgresql+psycopg://" in message
    assert "key=value" in message
    assert "\n" not in message and message.endswith(".")
    assert message.replace("...", "").count(". ") == 0  # one sentence


def test_the_error_does_not_chain_a_traceback_holding_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigError) as failure:
        configured(monkeypatch, REJECTED["mysql"])
    assert failure.value.__cause__ is None and failure.value.__suppress_context__


@pytest.mark.parametrize("password", RAW_PASSWORDS)
def test_a_pasted_password_with_reserved_characters_reaches_libpq_whole(
    monkeypatch: pytest.MonkeyPatch, password: str
) -> None:
    settings = configured(monkeypatch, f"postgresql+psycopg://ana:{password}@db.example/wh")
    assert settings.database_url is not None
    params = conninfo_to_dict(settings.database_url.get_secret_value())
    # "%40" is already percent-encoded: it stays "@"; a "%" before no hex pair is a "%"
    expected = password.replace("%40", "@")
    assert (params["password"], params["host"], params["dbname"]) == (expected, "db.example", "wh")


def test_an_empty_setting_reads_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    assert configured(monkeypatch, "  ").database_url is None


def test_other_bad_settings_fail_in_one_sentence_each(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDBI_SERVE_PORT", "many")
    monkeypatch.setenv("PDBI_REJECT_THRESHOLD", "2")
    with pytest.raises(ConfigError) as failure:
        configured(monkeypatch, f"mysql://ana:{PASSWORD}@db/wh")
    message = str(failure.value)
    assert "PDBI_SERVE_PORT: " in message and "PDBI_REJECT_THRESHOLD: " in message
    assert "PDBI_DATABASE_URL is not a PostgreSQL URL" in message
    assert "many" not in message and PASSWORD not in message


def test_a_json_setting_that_is_not_json_names_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PDBI_LAKE_OPTIONS", "{endpoint: minio}")
    with pytest.raises(ConfigError, match="lake_options"):
        configured(monkeypatch, "postgresql://db/wh")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:pw@h/db", "postgresql://u:***@h/db"),
        ("user=u password=pw host=h", "user=u password=*** host=h"),
        ("user=u password='p w' host=h", "user=u password=*** host=h"),
        ("postgresql://u@h/db?password=pw", "postgresql://u@h/db?password=***"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgresql://h:5432/db", "postgresql://h:5432/db"),
        ("u:pw@h/db", "u:***@h/db"),
        ("mysql://u:p@w/rd@h/db", "mysql://u:***@h/db"),
        ("postgresql://:pw@h/db", "postgresql://:***@h/db"),
    ],
)
def test_mask_url_hides_the_password_of_any_string(url: str, expected: str) -> None:
    assert mask_url(url) == expected
