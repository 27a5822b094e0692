-- How many keys a type-2 dimension holds a current version of (the unknown member left out).
-- identifiers {dim}, {sk} from tasks/warehouse/guards.py. params: none.
select count(*) from {dim} where is_current and {sk} <> -1
