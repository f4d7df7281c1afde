-- The procedure catalogue (reference interpreter, linter's code check, DQ gate's known codes).
SELECT * FROM procedimentos
