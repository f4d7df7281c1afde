-- Tables of the warehouse's current schema (DuckDB and PostgreSQL); the page shows a section
-- only when its table exists.
SELECT table_name
FROM information_schema.tables
WHERE table_schema = current_schema()
ORDER BY table_name
