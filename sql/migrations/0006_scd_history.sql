-- Type-2 history columns and checks for the four versioned dimensions (university, course,
-- subject, student). Which attributes are tracked and whether absence means deletion is declared
-- in tasks/warehouse/merge.py (SCD_DIMENSIONS); sql/merge/scd_*.sql apply it.
--   is_deleted: this version was closed because its key left a full snapshot (dbt's
--               invalidate_hard_deletes); a key that comes back opens a new version.
--   loaded_date: the run date of the load that opened (or corrected) the version; a rerun of
--                that day corrects it in place instead of opening a zero-length interval.
alter table dw.dim_university
    add column is_deleted boolean not null default false,
    add column loaded_date date;
alter table dw.dim_course
    add column is_deleted boolean not null default false,
    add column loaded_date date;
alter table dw.dim_subject
    add column is_deleted boolean not null default false,
    add column loaded_date date;
alter table dw.dim_student
    add column is_deleted boolean not null default false,
    add column loaded_date date;

-- Rows loaded before this migration: the best known load date is the start of their validity.
-- row_hash becomes an md5 of a JSON array of the tracked attributes (unambiguous with nulls, and
-- independent of DateStyle); the unknown member (-1) keeps its empty hash.
update dw.dim_university
set loaded_date = valid_from,
    row_hash = case when university_key = -1 then '' else md5(json_build_array(name)::text) end;
update dw.dim_course
set loaded_date = valid_from,
    row_hash = case when course_key = -1 then '' else md5(json_build_array(name)::text) end;
update dw.dim_subject
set loaded_date = valid_from,
    row_hash = case when subject_key = -1 then '' else md5(json_build_array(name)::text) end;
update dw.dim_student
set loaded_date = valid_from,
    row_hash = case
        when student_key = -1 then ''
        else md5(json_build_array(state, city, university_id, course_id)::text)
    end;

-- Every version covers a non-empty interval, open rows are exactly the current ones, and a
-- current row is never a deleted one.
alter table dw.dim_university
    alter column loaded_date set not null,
    add constraint dim_university_interval check (valid_from < valid_to),
    add constraint dim_university_open_is_current check (is_current = (valid_to = '9999-12-31')),
    add constraint dim_university_current_not_deleted check (not (is_current and is_deleted));
alter table dw.dim_course
    alter column loaded_date set not null,
    add constraint dim_course_interval check (valid_from < valid_to),
    add constraint dim_course_open_is_current check (is_current = (valid_to = '9999-12-31')),
    add constraint dim_course_current_not_deleted check (not (is_current and is_deleted));
alter table dw.dim_subject
    alter column loaded_date set not null,
    add constraint dim_subject_interval check (valid_from < valid_to),
    add constraint dim_subject_open_is_current check (is_current = (valid_to = '9999-12-31')),
    add constraint dim_subject_current_not_deleted check (not (is_current and is_deleted));
alter table dw.dim_student
    alter column loaded_date set not null,
    add constraint dim_student_interval check (valid_from < valid_to),
    add constraint dim_student_open_is_current check (is_current = (valid_to = '9999-12-31')),
    add constraint dim_student_current_not_deleted check (not (is_current and is_deleted));

-- Version lookups by business key (the merges' "has this key any history?").
create index dim_university_versions on dw.dim_university (university_id, valid_from);
create index dim_course_versions on dw.dim_course (course_id, valid_from);
create index dim_subject_versions on dw.dim_subject (subject_id, valid_from);
