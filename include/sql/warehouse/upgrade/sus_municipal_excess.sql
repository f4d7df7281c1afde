-- Columns sus_municipal_excess gained after its first release, one ALTER per statement. Warehouse.ensure_table
-- runs each one whose column the table lacks (a warehouse of an earlier version); rows written
-- before keep NULL there.
ALTER TABLE sus_municipal_excess ADD COLUMN alvo_versao INTEGER;
ALTER TABLE sus_municipal_excess ADD COLUMN k DOUBLE PRECISION;
