-- new_versions: the versions each type-2 dimension holds that the load of one day opened (new
-- keys, changed and returning ones; a same-day rerun's corrections keep the day), for the daily
-- series of the analytics zone (tasks/analytics/series.py). The unknown member left out.
-- params: %(day)s. One row per dimension: (source, versions).
select 'students' as source, count(*) as versions
from dw.dim_student where loaded_date = %(day)s and student_key <> -1
union all
select 'universities', count(*)
from dw.dim_university where loaded_date = %(day)s and university_key <> -1
union all
select 'courses', count(*)
from dw.dim_course where loaded_date = %(day)s and course_key <> -1
union all
select 'subjects', count(*)
from dw.dim_subject where loaded_date = %(day)s and subject_key <> -1
