-- The loader: a group role (no login) that owns pdbi's schemas; the pipeline's login joins it.
-- identifiers: {loader} from PDBI_LOADER_ROLE, composed by tasks/resources/postgres.py.
create role {loader} nologin;
