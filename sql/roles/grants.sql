-- Who may do what, applied by `pdbi db init` and every run's preflight (idempotent).
-- The loader owns the schemas and may write every table in them; the reporting role may read
-- the warehouse (dw: tables and analysts' views) and meta (the dashboard's run history and
-- validations), now and for tables later migrations add, and nothing else: no stage, no write.
-- identifiers: {loader}, {reporting} (settings), {database} (the current database).
-- A schema's new owner needs CREATE on the database (a superuser running this skips the check;
-- a managed service's admin does not); temporary tables are what the merges stage in.
grant create, temporary on database {database} to {loader};
alter schema stage owner to {loader};
alter schema dw owner to {loader};
alter schema meta owner to {loader};
grant all on all tables in schema stage, dw, meta to {loader};
grant all on all sequences in schema stage, dw, meta to {loader};
grant execute on all functions in schema meta to {loader};

grant connect on database {database} to {reporting};
grant usage on schema dw, meta to {reporting};
grant select on all tables in schema dw, meta to {reporting};
grant execute on all functions in schema meta to {reporting};
revoke all on schema stage from {reporting};
alter default privileges in schema dw, meta grant select on tables to {reporting};
alter default privileges for role {loader} in schema dw, meta grant select on tables to {reporting};
