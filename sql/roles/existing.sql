-- Which of the named roles exist already (roles are cluster-wide: another database may have
-- created them). params: %(names)s, a list of role names.
select rolname
from pg_roles
where rolname = any(%(names)s);
