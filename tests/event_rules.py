"""The events suite's critical rules, written again in plain Python from expectations/README.md,
for the tests' expected values: a line must be one JSON object (else it is malformed), `at`
must be there and a timestamp, and `studentId_clientType`, when not blank, `<id>@<client>`.
Only the events that pass count in any output. Independent of tasks/: no Spark, no GX, no
regex shared with the suite.
"""

from __future__ import annotations

import re
from datetime import datetime

CLIENTS = ("Website", "Webapp", "Android", "iOS")
FORMS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f",
         "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f")  # fmt: skip


def is_timestamp(value: str) -> bool:
    """`2017-11-16 13:20:11.000`, up to six fraction digits, `T` or a space, or a date only;
    spaces around allowed."""
    text = value.strip(" ")
    if "." in text and not 1 <= len(text.rsplit(".", 1)[1]) <= 6:
        return False
    for form in FORMS:
        try:
            datetime.strptime(text, form)
        except ValueError:
            continue
        return True
    return False


def failed_rules(record: dict) -> list[str]:
    """The critical rules a JSON object breaks (empty: the event is valid)."""
    failed = []
    at = record.get("at")
    if at is None:
        failed.append("at is missing")
    elif not is_timestamp(str(at)):
        failed.append("at is not a timestamp")
    key = record.get("studentId_clientType")
    if key is not None and str(key).strip(" "):
        student, at_sign, client = str(key).strip(" ").partition("@")
        shaped = at_sign and 1 <= len(student) <= 64 and client in CLIENTS
        if not shaped or "@" in student or re.search(r"\s", student):
            failed.append("studentId_clientType is not <id>@<client>")
    return failed
