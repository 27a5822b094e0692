-- Views for analysts, Spark and the dashboard.
create view dw.student_current as
select * from dw.dim_student where is_current and student_key <> -1;

-- One row per current student with names resolved through the snowflake.
create view dw.student_flat as
select
    s.student_id,
    s.state,
    s.city,
    coalesce(u.name, 'unknown') as university,
    coalesce(c.name, 'unknown') as course
from dw.student_current as s
left join dw.dim_university as u on u.university_id = s.university_id and u.is_current
left join dw.dim_course as c on c.course_id = s.course_id and c.is_current;
