-- The read-only BI role of the warehouse (PostgreSQL). Run by the warehouse's owner, in the
-- warehouse database, with psql:
--   psql -v ON_ERROR_STOP=1 -v bi_password="$VIGIA_BI_PASSWORD" -d <warehouse db> -f warehouse_bi_role.sql
-- Used by the compose warehouse's init script (include/sql/admin/init_warehouse.sh) and by
-- `.ci/topology.sh up`. Idempotent: safe to run on every start.
--
-- vigia_bi may connect and SELECT every table of schema public, including tables the
-- pipelines create later (default privileges of the role running this file, which is the
-- role the `warehouse` connection writes with). It may not INSERT, UPDATE, DELETE, TRUNCATE
-- or CREATE, and its sessions are read-only by default as a second fence.
-- An empty bi_password leaves the role without a password (local trust authentication).

SELECT (:'bi_password' <> '') AS has_bi_password \gset

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigia_bi') THEN
        CREATE ROLE vigia_bi LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
END
$$;

\if :has_bi_password
ALTER ROLE vigia_bi PASSWORD :'bi_password';
\else
ALTER ROLE vigia_bi PASSWORD NULL;
\endif
ALTER ROLE vigia_bi SET default_transaction_read_only = on;

-- nobody but the owner creates objects in public (PostgreSQL 15's default, made explicit)
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SELECT format('REVOKE CREATE, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()) \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO vigia_bi', current_database()) \gexec

GRANT USAGE ON SCHEMA public TO vigia_bi;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO vigia_bi;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO vigia_bi;
