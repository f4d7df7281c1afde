-- Columns of the source's guias table (to find the optional cid extension). DuckDB and PostgreSQL.
SELECT column_name FROM information_schema.columns WHERE table_name = 'guias' AND table_schema = current_schema()
