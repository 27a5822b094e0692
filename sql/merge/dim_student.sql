-- The students snapshot, typed. grain: one row per student_id, the last record of the file
-- winning. params: none. Values exactly as exported (no trimming): the Id as written ('k' and
-- 'k ' are two students), text attributes as written or 'unknown' when missing or blank
-- (meta.value_or_unknown); ids and timestamps that do not read as such become null. Snowflaked: university_id and course_id resolve
-- through dim_university and dim_course (see dw.student_flat). The id 'unknown' is reserved for
-- the unknown member. {row_hash} hashes the tracked columns declared in tasks/warehouse/merge.py;
-- scd_plan.sql and scd_apply.sql then merge `incoming` into dw.dim_student.
drop table if exists pg_temp.incoming;
create temp table incoming on commit drop as
with typed as (
    select
        id as student_id,
        meta.to_timestamp_or_null(registered_date) as registered_at,
        meta.value_or_unknown(state) as state,
        meta.value_or_unknown(city) as city,
        meta.to_int_or_null(university_id) as university_id,
        meta.to_int_or_null(course_id) as course_id,
        meta.value_or_unknown(signup_source) as signup_source,
        source_row
    from stage.students
    where meta.value_or_unknown(id) <> 'unknown'
)
select distinct on (student_id)
    student_id,
    registered_at,
    state,
    city,
    university_id,
    course_id,
    signup_source,
    {row_hash} as row_hash
from typed
order by student_id, source_row desc;
