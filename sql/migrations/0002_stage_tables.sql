-- Stage: one table per source entity, every source key as text so that ingestion never fails
-- on a type; lineage columns say where each row came from. Replaced whole on every load.
create table stage.students (
    id text, registered_date text, state text, city text,
    university_id text, course_id text, signup_source text,
    source_file text not null, source_row bigint not null, load_id text not null
);
create table stage.sessions (
    student_id text, session_start_time text, student_client text,
    source_file text not null, source_row bigint not null, load_id text not null
);
create table stage.subscriptions (
    student_id text, payment_date text, plan_type text,
    source_file text not null, source_row bigint not null, load_id text not null
);
create table stage.universities (
    id text, name text,
    source_file text not null, source_row bigint not null, load_id text not null
);
create table stage.courses (
    id text, name text,
    source_file text not null, source_row bigint not null, load_id text not null
);
create table stage.subjects (
    id text, name text,
    source_file text not null, source_row bigint not null, load_id text not null
);
create table stage.student_follow_subject (
    student_id text, subject_id text, follow_date text,
    source_file text not null, source_row bigint not null, load_id text not null
);
