-- One code column's dictionary: each distinct raw value of the landed files, its text and its problem.
-- The SIA ingestion (vigia.sus.ingest_sia) checks every distinct value once here instead of every row.
-- Input:
--   valores   bruto (the value as stored in the Parquet file, any type) and texto (the stripped text a
--             CSV export would hold, zero-padded to the column's width: ingest_sql._text_expr)
-- Output: id (1..n), bruto, texto, chave (the first :comprimento characters of texto: the cube's grain
-- for procedures), problema (NULL when texto is :digitos ASCII digits; otherwise the message of
-- datasus.code_problems, e.g. cnes '12' is not 7 digits).
-- Bind variables: :coluna (VARCHAR, the column's name in messages), :digitos (INTEGER), :comprimento (INTEGER)
SELECT
    row_number() OVER ()                     AS id,
    bruto,
    texto,
    substr(texto, 1, :comprimento)           AS chave,
    CASE WHEN NOT coalesce(regexp_full_match(texto, '[0-9]{' || CAST(:digitos AS VARCHAR) || '}'), false)
         THEN :coluna || ' ''' || coalesce(texto, '') || ''' is not ' || CAST(:digitos AS VARCHAR) || ' digits'
    END                                      AS problema
FROM valores
