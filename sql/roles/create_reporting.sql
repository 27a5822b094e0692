-- The reporting role: it may log in (the embedded database trusts its local socket; a server
-- gives it a password by hand) and reads only. identifiers: {reporting} (PDBI_REPORTING_ROLE).
create role {reporting} login;
alter role {reporting} set default_transaction_read_only = on;
