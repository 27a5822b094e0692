-- stage.landing_<source>: where a file's rows wait, inside the load's transaction, for the
-- source's suite (tasks/stage/land.py). grain: one row per landed record of one file; key:
-- source_row. UNLOGGED: no WAL is written for rows that live for one transaction (they are
-- emptied before the load commits, and a crash empties them anyway); in shared buffers, so the
-- suite's scans, the split and the move read them from memory. One table per source: loads of a
-- source are one at a time anyway (each truncates stage.<source> first).

create unlogged table stage.landing_universities (
    id text,
    name text,
    source_row bigint not null
);
create unlogged table stage.landing_courses (
    id text,
    name text,
    source_row bigint not null
);
create unlogged table stage.landing_subjects (
    id text,
    name text,
    source_row bigint not null
);
create unlogged table stage.landing_students (
    id text,
    registered_date text,
    state text,
    city text,
    university_id text,
    course_id text,
    signup_source text,
    source_row bigint not null
);
create unlogged table stage.landing_sessions (
    student_id text,
    session_start_time text,
    student_client text,
    source_row bigint not null
);
create unlogged table stage.landing_subscriptions (
    student_id text,
    payment_date text,
    plan_type text,
    source_row bigint not null
);
create unlogged table stage.landing_student_follow_subject (
    student_id text,
    subject_id text,
    follow_date text,
    source_row bigint not null
);
create unlogged table stage.landing_events (
    uuid text,
    at text,
    name text,
    type text,
    student_id_client_type text,
    user_type text,
    custom_1 text,
    custom_2 text,
    custom_3 text,
    custom_4 text,
    page_name text,
    page_category text,
    page_category_1 text,
    page_category_2 text,
    page_category_3 text,
    last_accessed_url text,
    first_accessed_page text,
    country text,
    region text,
    city_name text,
    platform text,
    browser text,
    os_ver text,
    model text,
    carrier text,
    language text,
    library_ver text,
    device_new text,
    install_uuid text,
    session_uuid text,
    nth text,
    clv_total text,
    marketing_source text,
    marketing_medium text,
    marketing_campaign text,
    source_row bigint not null
);
