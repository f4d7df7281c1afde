-- Columns sus_benign_flags gained after its first release, one ALTER per statement. Warehouse.ensure_table
-- runs each one whose column the table lacks (a warehouse of an earlier version); rows written
-- before keep NULL there.
ALTER TABLE sus_benign_flags ADD COLUMN alvo_versao INTEGER;
