-- Fact loading at full size.
-- 1. No per-row foreign keys on facts. Each fact key is looked up by the statement that writes
--    it and falls back to the unknown member (-1), so it always names an existing row; the
--    per-row RI checks cost about as much as the whole insert each (bench/merge.py). What a
--    foreign key would still guard, a dimension row deleted under its facts, is guarded below.
-- 2. A dimension version is deleted only when a same-day rerun removes one an earlier run of
--    that day opened (sql/merge/scd_apply.sql). A statement trigger then moves its facts to the
--    unknown member, set-based (what `on delete set default` does row by row), and the fact
--    merges of the same run re-point them to the version valid on their day.
-- 3. The casting helpers of 0001 parse every stage value of every load, and their regular
--    expressions were most of a fact load's cost. Same results, cheaper: to_timestamp_or_null
--    checks the text's shape (each ASCII digit as 0) against the formats the regular expression
--    accepted, and is declared stable like the cast it wraps (it reads DateStyle), so PostgreSQL
--    can inline it; to_int_or_null casts plain digit strings directly and keeps its regular
--    expression for the rest ('-12', '12.0').
alter table dw.fct_session
    drop constraint fct_session_student_key_fkey,
    drop constraint fct_session_client_key_fkey,
    drop constraint fct_session_date_key_fkey;
alter table dw.fct_subscription
    drop constraint fct_subscription_student_key_fkey,
    drop constraint fct_subscription_plan_key_fkey,
    drop constraint fct_subscription_date_key_fkey;
alter table dw.fct_follow
    drop constraint fct_follow_student_key_fkey,
    drop constraint fct_follow_subject_key_fkey,
    drop constraint fct_follow_date_key_fkey;

-- The fact rows pointing at one version: found by index when it is removed or re-pointed.
create index fct_session_student_key on dw.fct_session (student_key);
create index fct_subscription_student_key on dw.fct_subscription (student_key);
create index fct_follow_student_key on dw.fct_follow (student_key);
create index fct_follow_subject_key on dw.fct_follow (subject_key);

-- trigger arguments: the surrogate key column, then every fact table holding it
create function meta.release_facts() returns trigger
language plpgsql as $$
declare
    fact text;
begin
    foreach fact in array tg_argv[1:] loop
        execute format(
            'update %s as f set %2$I = -1 from removed where f.%2$I = removed.%2$I',
            fact::regclass, tg_argv[0]
        );
    end loop;
    return null;
end
$$;

create trigger dim_student_release_facts after delete on dw.dim_student
    referencing old table as removed for each statement
    execute function meta.release_facts(
        'student_key', 'dw.fct_session', 'dw.fct_subscription', 'dw.fct_follow'
    );
create trigger dim_subject_release_facts after delete on dw.dim_subject
    referencing old table as removed for each statement
    execute function meta.release_facts('subject_key', 'dw.fct_follow');

create or replace function meta.to_timestamp_or_null(raw text) returns timestamp
language sql stable parallel safe as $$
    select case
        when translate(btrim(raw), '0123456789', '0000000000') in (
            '0000-00-00',
            '0000-00-00 00:00', '0000-00-00 00:00:00',
            '0000-00-00 00:00:00.0', '0000-00-00 00:00:00.00', '0000-00-00 00:00:00.000',
            '0000-00-00 00:00:00.0000', '0000-00-00 00:00:00.00000', '0000-00-00 00:00:00.000000',
            '0000-00-00T00:00', '0000-00-00T00:00:00',
            '0000-00-00T00:00:00.0', '0000-00-00T00:00:00.00', '0000-00-00T00:00:00.000',
            '0000-00-00T00:00:00.0000', '0000-00-00T00:00:00.00000', '0000-00-00T00:00:00.000000'
        )
            then btrim(raw)::timestamp
    end
$$;

create or replace function meta.to_int_or_null(raw text) returns integer
language sql immutable parallel safe as $$
    select case
        when translate(btrim(raw), '0123456789', '') = '' and length(btrim(raw)) between 1 and 9
            then btrim(raw)::integer
        when btrim(raw) ~ '^-?\d{1,9}(\.0*)?$' then split_part(btrim(raw), '.', 1)::integer
    end
$$;
