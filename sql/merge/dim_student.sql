-- dim_student: one row per student version. key: student_id.
-- tracked: registered_at, state, city, university_id, course_id, signup_source.
-- params: %(run_date)s. Snowflaked: university_id and course_id resolve through
-- dim_university and dim_course (see dw.student_flat). Missing values become 'unknown'.
-- Type 2 as in dim_lookup.sql: changed rows close at run_date, new versions open.
drop table if exists incoming;
create temp table incoming on commit drop as
with typed as (
    select
        btrim(id) as student_id,
        meta.to_timestamp_or_null(registered_date) as registered_at,
        coalesce(nullif(btrim(state), ''), 'unknown') as state,
        coalesce(nullif(btrim(city), ''), 'unknown') as city,
        meta.to_int_or_null(university_id) as university_id,
        meta.to_int_or_null(course_id) as course_id,
        coalesce(nullif(btrim(signup_source), ''), 'unknown') as signup_source,
        source_row
    from stage.students
    where nullif(btrim(id), '') is not null
)
select distinct on (student_id)
    student_id,
    registered_at,
    state,
    city,
    university_id,
    course_id,
    signup_source,
    md5(concat_ws('|', registered_at, state, city, university_id, course_id, signup_source))
        as row_hash
from typed
order by student_id, source_row desc;

-- closed: current rows whose tracked attributes changed
update dw.dim_student as d
set valid_to = %(run_date)s, is_current = false
from incoming as i
where d.student_id = i.student_id
    and d.is_current
    and d.row_hash <> i.row_hash;

-- opened: new students (valid since forever) and changed ones (valid from run_date)
insert into dw.dim_student (
    student_id, registered_at, state, city, university_id, course_id, signup_source,
    row_hash, valid_from
)
select
    i.student_id,
    i.registered_at,
    i.state,
    i.city,
    i.university_id,
    i.course_id,
    i.signup_source,
    i.row_hash,
    case
        when exists (select 1 from dw.dim_student as old where old.student_id = i.student_id)
            then %(run_date)s::date
        else date '1900-01-01'
    end
from incoming as i
where not exists (
    select 1 from dw.dim_student as d where d.student_id = i.student_id and d.is_current
);
