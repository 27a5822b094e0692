-- The current state of each versioned dimension, for analysts: one row per business key that
-- is in the latest snapshot (deleted keys have no current row), the unknown member left out.
-- dw.student_current (0005) already does this for students and feeds dw.student_flat.
create view dw.university_current as
select university_key, university_id, name, valid_from, loaded_date
from dw.dim_university
where is_current and university_key <> -1;

create view dw.course_current as
select course_key, course_id, name, valid_from, loaded_date
from dw.dim_course
where is_current and course_key <> -1;

create view dw.subject_current as
select subject_key, subject_id, name, valid_from, loaded_date
from dw.dim_subject
where is_current and subject_key <> -1;
