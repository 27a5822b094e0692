-- scd_apply: write the plan of scd_plan.sql into {dim}, set-based, in an order that keeps at
-- most one current row per key and no overlapping intervals after every statement.
-- params: %(run_date)s. identifiers {dim}, {key}, {sk}, {attrs}, {new_attrs} from tasks/warehouse/merge.py.

-- removed: versions an earlier run of today opened that today's snapshot no longer opens;
-- their facts fall back to the unknown member (on delete set default) and are re-pointed by
-- the fact merges of the same run.
delete from {dim} as d
using scd_plan as p
where d.{sk} = p.today_sk
    and p.remove_today;

-- the version current before today: reopened, closed (changed) or closed and flagged deleted
update {dim} as d
set valid_to = case when p.before_fate = 'open' then date '9999-12-31' else %(run_date)s::date end,
    is_current = p.before_fate = 'open',
    is_deleted = p.before_fate = 'deleted'
from scd_plan as p
where d.{sk} = p.before_sk
    and p.before_fate is distinct from p.before_state;

-- corrected: today's version takes the rerun's attributes in place
update {dim} as d
set ({attrs}, row_hash) = row({new_attrs}, i.row_hash)
from scd_plan as p
join incoming as i using ({key})
where d.{sk} = p.today_sk
    and p.correct_today;

-- opened: new keys valid since 1900-01-01 (so older facts find them), changed and returning
-- keys valid from run_date. Surrogate keys are numbered here, after the largest one, in
-- business-key order, not drawn from the identity sequence: a sequence is not rolled back, so
-- a merge killed after its insert would leave a gap and its rerun other keys than an
-- undisturbed run (scd_plan.sql locks the dimension: one numbering at a time).
insert into {dim} ({sk}, {key}, {attrs}, row_hash, valid_from, loaded_date)
select
    greatest((select max(d.{sk}) from {dim} as d), 0)
        + row_number() over (order by i.{key}::text collate "C"),
    i.{key},
    {new_attrs},
    i.row_hash,
    p.valid_from,
    %(run_date)s
from scd_plan as p
join incoming as i using ({key})
where p.open_new;

-- inserts that rely on the identity default (by hand, in tests) must not collide with the keys
-- numbered above: the sequence is moved past them (a rollback leaves it moved; harmless)
select setval(pg_get_serial_sequence({dim_name}, {sk_name}), greatest(max({sk}), 1))
from {dim};

-- the facts merged next plan their joins on this dimension's statistics: the first load's
-- (an empty table's) made PostgreSQL loop over every version for each of a million sessions
-- (over a minute at scale 1) when autovacuum had not yet analyzed it. A sample, in this
-- transaction, so the next merge plans on what it wrote.
analyze {dim};
