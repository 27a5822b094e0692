-- Facts. Each row keeps its natural key (so reloads are idempotent and late-arriving
-- dimension rows can be re-pointed) and the surrogate keys of the versions valid at its time.
create table dw.fct_session (
    student_id text not null,
    session_start_at timestamp not null,
    client_name text not null,
    student_key bigint not null references dw.dim_student,
    client_key bigint not null references dw.dim_client,
    date_key integer not null references dw.dim_date,
    primary key (student_id, session_start_at, client_name)
);
create table dw.fct_subscription (
    student_id text not null,
    payment_at timestamp not null,
    plan_type text not null,
    student_key bigint not null references dw.dim_student,
    plan_key bigint not null references dw.dim_plan,
    date_key integer not null references dw.dim_date,
    primary key (student_id, payment_at, plan_type)
);
create table dw.fct_follow (
    student_id text not null,
    subject_id integer not null,
    followed_at timestamp,
    student_key bigint not null references dw.dim_student,
    subject_key bigint not null references dw.dim_subject,
    date_key integer not null references dw.dim_date,
    primary key (student_id, subject_id)
);
