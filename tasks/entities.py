"""The eight sources: which files each comes from and where its keys land in stage.

BASE A (`ENTITIES`) is one JSON array per entity in `transactional/<day>/`; BASE B, the page-view
events (`EVENTS`), is JSON Lines part files in `raw/<day>/`. Each source has a stage table and a
Great Expectations suite of the same name (`expectations/<name>.json`).

Adding a source is one entry here, one stage table (a new migration), its suite and its merge SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

ARCHIVE_ZONE = "temp"


@dataclass(frozen=True)
class Entity:
    name: str  # also the stage table, the suite and the file stem: stage.students <- students.json
    columns: dict[str, str]  # source key -> stage column, in stage column order
    zone: str = "transactional"
    pattern: str = ""  # file names under <zone>/<day>/, a glob; "" means "<name>.json"
    layout: str = "array"  # how the export usually comes: "array" or "lines" (both are read)
    aliases: dict[str, str] = field(default_factory=dict)  # other spelling -> source key

    @property
    def file_name(self) -> str:
        return self.pattern or f"{self.name}.json"

    @property
    def key(self) -> str:
        """The source key of the business key: the first column."""
        return next(iter(self.columns))

    @property
    def stage_columns(self) -> list[str]:
        return [*self.columns.values(), "source_file", "source_row", "load_id"]

    def archived(self) -> Entity:
        """The same source read from the copies a committed load kept of its day's files:
        temp/<day>/<zone>/<file> (tasks/lake/archive.py), what a replay loads again."""
        return replace(self, zone=ARCHIVE_ZONE, pattern=f"{self.zone}/{self.file_name}")


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity("universities", {"Id": "id", "Name": "name"}),
        Entity("courses", {"Id": "id", "Name": "name"}),
        Entity("subjects", {"Id": "id", "Name": "name"}),
        Entity(
            "students",
            {
                "Id": "id",
                "RegisteredDate": "registered_date",
                "State": "state",
                "City": "city",
                "UniversityId": "university_id",
                "CourseId": "course_id",
                "SignupSource": "signup_source",
            },
        ),
        Entity(
            "sessions",
            {
                "StudentId": "student_id",
                "SessionStartTime": "session_start_time",
                "StudentClient": "student_client",
            },
        ),
        Entity(
            "subscriptions",
            {"StudentId": "student_id", "PaymentDate": "payment_date", "PlanType": "plan_type"},
        ),
        Entity(
            "student_follow_subject",
            {"StudentId": "student_id", "SubjectId": "subject_id", "FollowDate": "follow_date"},
        ),
    )
}

# Every key observed in BASE B (dataset.md), spaced keys under their spaced spelling.
_EVENT_KEYS = (
    "uuid", "at", "name", "type", "studentId_clientType", "user_type", "custom_1", "custom_2",
    "custom_3", "custom_4", "Page Name", "Page Category", "Page Category 1", "Page Category 2",
    "Page Category 3", "Last Accessed Url", "first-accessed-page", "country", "region",
    "city_name", "platform", "browser", "os_ver", "model", "carrier", "language", "library_ver",
    "device_new", "install_uuid", "session_uuid", "nth", "clv_total", "marketing_source",
    "marketing_medium", "marketing_campaign",
)  # fmt: skip
_EVENT_COLUMNS = {"studentId_clientType": "student_id_client_type"}

EVENTS = Entity(
    "events",
    {k: _EVENT_COLUMNS.get(k, k.lower().replace(" ", "_").replace("-", "_")) for k in _EVENT_KEYS},
    zone="raw",
    pattern="part-*.json",
    layout="lines",
    aliases={k.replace(" ", ""): k for k in _EVENT_KEYS if " " in k},
)

SOURCES: dict[str, Entity] = {**ENTITIES, EVENTS.name: EVENTS}
