-- scd_rewind: {dim} as it was before %(from_day)s was loaded. params: %(from_day)s.
-- identifiers {dim}, {sk} from tasks/warehouse/merge.py. Part of the rewind (see rewind.sql),
-- in its transaction. A version's loaded_date is the run date that opened it (or corrected it
-- in place, the same day); valid_to is the run date that closed it.
lock table {dim} in share row exclusive mode;

-- removed: versions opened on or after the day; their facts fall back to the unknown member
-- (meta.release_facts) and are re-pointed by the fact merges of the days loaded again
delete from {dim}
where loaded_date >= %(from_day)s
    and {sk} <> -1;

-- reopened: the versions those loads closed, changed or deleted; at most one per key, since
-- every later version of the key was opened on or after the day and is gone
update {dim}
set valid_to = date '9999-12-31',
    is_current = true,
    is_deleted = false
where valid_to >= %(from_day)s
    and valid_to <> date '9999-12-31'
    and {sk} <> -1;
