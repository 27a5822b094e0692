-- The login running `pdbi db init` joins the loader, so that it may hand the schemas over and
-- set the loader's default privileges. A login with CREATEROLE may grant itself a role it
-- created (PostgreSQL 16 gives the creator ADMIN OPTION; 15 lets CREATEROLE grant any
-- non-superuser role). identifiers: {loader} (PDBI_LOADER_ROLE).
grant {loader} to current_user;
