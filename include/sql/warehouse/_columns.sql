-- Columns of a warehouse table, in order (DuckDB and PostgreSQL).
SELECT column_name
FROM information_schema.columns
WHERE table_name = :table_name
  AND table_schema = current_schema()
ORDER BY ordinal_position
