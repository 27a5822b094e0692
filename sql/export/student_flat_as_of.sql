-- The students a day's outputs join its events with: one row per student the warehouse held
-- after loading {as_of}, with the state, city, university and course valid on that day.
-- grain: one row per student_id. {as_of} is a date literal composed in with psycopg.sql.Literal
-- (COPY and Spark's JDBC query cannot bind parameters) by tasks/warehouse/export.py (the Parquet
-- export) and tasks/resources/spark.py (JDBC); the dashboard can read any day the same way.
-- A version belongs to the day when valid_from <= day < valid_to and it was loaded on or before
-- the day. The second condition leaves out a student first seen on a later day (its first
-- version is valid since 1900-01-01, so that older facts find it): a day computed again after
-- later loads gives what it gave when it was loaded, and on the latest day this is exactly
-- dw.student_flat. University and course (snowflaked, by business id) resolve the same way.
select
    s.student_id,
    s.state,
    s.city,
    coalesce(u.name, 'unknown') as university,
    coalesce(c.name, 'unknown') as course
from dw.dim_student as s
left join dw.dim_university as u
    on u.university_id = s.university_id
    and u.valid_from <= {as_of}
    and {as_of} < u.valid_to
    and u.loaded_date <= {as_of}
left join dw.dim_course as c
    on c.course_id = s.course_id
    and c.valid_from <= {as_of}
    and {as_of} < c.valid_to
    and c.loaded_date <= {as_of}
where s.student_key <> -1
    and s.valid_from <= {as_of}
    and {as_of} < s.valid_to
    and s.loaded_date <= {as_of}
order by s.student_id
