-- Columns and types of the four regulation contract tables (or views), DuckDB and PostgreSQL.
SELECT table_name, column_name, data_type
FROM information_schema.columns
WHERE table_schema = current_schema()
  AND table_name IN ('beneficiarios', 'procedimentos', 'guias', 'eventos')
ORDER BY table_name, ordinal_position
