"""The seven BASE A sources: which file each comes from and where its keys land in stage.

Adding a source is one entry here, one stage table (a new migration) and its merge SQL.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    name: str  # also the stage table and the file stem: stage.students <- students.json
    columns: dict[str, str]  # source key -> stage column, in stage column order

    @property
    def file_name(self) -> str:
        return f"{self.name}.json"

    @property
    def stage_columns(self) -> list[str]:
        return [*self.columns.values(), "source_file", "source_row", "load_id"]


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
