-- Facts and the type-2 dimensions they point at.
-- A same-day rerun with different data may remove a version that an earlier run of that day
-- opened (see sql/merge/scd_apply.sql). Its facts then fall back to the unknown member (-1),
-- and the fact merge of the same run re-points them to the version valid on their day.
-- The indexes make that fallback, and the re-pointing of facts at -1, index lookups.
alter table dw.fct_session alter column student_key set default -1;
alter table dw.fct_subscription alter column student_key set default -1;
alter table dw.fct_follow alter column student_key set default -1;
alter table dw.fct_follow alter column subject_key set default -1;

alter table dw.fct_session
    drop constraint fct_session_student_key_fkey,
    add constraint fct_session_student_key_fkey foreign key (student_key)
        references dw.dim_student on delete set default;
alter table dw.fct_subscription
    drop constraint fct_subscription_student_key_fkey,
    add constraint fct_subscription_student_key_fkey foreign key (student_key)
        references dw.dim_student on delete set default;
alter table dw.fct_follow
    drop constraint fct_follow_student_key_fkey,
    add constraint fct_follow_student_key_fkey foreign key (student_key)
        references dw.dim_student on delete set default,
    drop constraint fct_follow_subject_key_fkey,
    add constraint fct_follow_subject_key_fkey foreign key (subject_key)
        references dw.dim_subject on delete set default;

create index fct_session_student_key on dw.fct_session (student_key);
create index fct_subscription_student_key on dw.fct_subscription (student_key);
create index fct_follow_student_key on dw.fct_follow (student_key);
create index fct_follow_subject_key on dw.fct_follow (subject_key);
