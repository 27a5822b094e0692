-- dim_university, dim_course, dim_subject: the three lookup dimensions share this file.
-- grain: one row per version of {key}. tracked: name. params: %(run_date)s.
-- identifiers {dim}, {stage_table}, {key} come from tasks/merge.py (never from data).
-- Type 2 (dbt snapshot, check strategy): a changed name closes the current row at run_date and
-- opens a new one; unchanged rows are not touched, so a rerun changes nothing.
drop table if exists incoming;
create temp table incoming on commit drop as
select distinct on ({key})
    meta.to_int_or_null(id) as {key},
    coalesce(nullif(btrim(name), ''), 'unknown') as name,
    md5(coalesce(nullif(btrim(name), ''), 'unknown')) as row_hash
from {stage_table}
where meta.to_int_or_null(id) is not null
order by {key}, source_row desc;

-- closed: current rows whose tracked attributes changed
update {dim} as d
set valid_to = %(run_date)s, is_current = false
from incoming as i
where d.{key} = i.{key}
    and d.is_current
    and d.row_hash <> i.row_hash;

-- opened: new keys (valid since forever, so older facts find them) and changed keys
insert into {dim} ({key}, name, row_hash, valid_from)
select
    i.{key},
    i.name,
    i.row_hash,
    case
        when exists (select 1 from {dim} as old where old.{key} = i.{key})
            then %(run_date)s::date
        else date '1900-01-01'
    end
from incoming as i
where not exists (
    select 1 from {dim} as d where d.{key} = i.{key} and d.is_current
);
