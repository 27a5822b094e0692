"""A file's records as stage text columns: text as JSON spells it, both key spellings, and the
rows set aside before validation with their reasons."""

from __future__ import annotations

from tasks.entities import ENTITIES, EVENTS
from tasks.stage.batch import read_batch
from tasks.stage.parse import Malformed


def test_batch_text_columns_lineage_and_early_rejects() -> None:
    records = [
        (1, {"Id": 12, "Name": "Direito", "Extra": "ignored"}),
        (2, {"Id": 12.0, "Name": True}),
        (3, 42),
        (4, Malformed("{oops", "Expecting value")),
        (5, {"Id": "5", "Name": "a\x00b"}),
        (6, {"Id": {"x": 1}, "Name": "\ud800"}),
    ]
    batch = read_batch(ENTITIES["courses"], records, "courses.json")
    assert (batch.read, batch.rows) == (6, [1, 2, 5, 6])
    assert batch.arrays["id"].to_pylist() == ["12", "12", "5", '{"x": 1}']
    assert batch.arrays["name"].to_pylist() == ["Direito", "true", "a\x00b", None]
    assert batch.rejected == {
        3: ["record_is_a_json_object"],
        4: ["record_is_valid_json"],
        5: ["value_has_no_nul_byte(name)"],
        6: ["value_is_valid_unicode(name)"],
    }
    assert batch.raw == {3: 42, 4: "{oops"}


def test_event_keys_are_read_in_both_spellings_the_spaced_one_first() -> None:
    records = [
        (1, {"Page Name": "Home", "LastAccessedUrl": "https://a"}),
        (2, {"PageName": "Perfil", "Page Name": None}),
        (3, {"PageName": "x", "Page Name": "Busca", "studentId_clientType": "s@iOS"}),
    ]
    batch = read_batch(EVENTS, records, "part-00000.json")
    assert batch.arrays["page_name"].to_pylist() == ["Home", "Perfil", "Busca"]
    assert batch.arrays["last_accessed_url"].to_pylist() == ["https://a", None, None]
    assert batch.arrays["student_id_client_type"].to_pylist() == [None, None, "s@iOS"]
