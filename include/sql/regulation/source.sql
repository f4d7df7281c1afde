-- The regulation source contract: four tables, fixed names and columns (DuckDB and PostgreSQL).
-- A plan maps its own database onto these with views; the sample generator creates them as tables.
-- docs/regulation_source.md describes every column.
CREATE TABLE IF NOT EXISTS beneficiarios (
    id_beneficiario     VARCHAR NOT NULL,
    sexo                VARCHAR NOT NULL,            -- 'M' / 'F'
    data_nascimento     DATE NOT NULL,
    tipo_beneficiario   VARCHAR NOT NULL,            -- 'titular' / 'dependente' / 'agregado'
    data_adesao         DATE NOT NULL                -- start of the contract (carência counts from it)
);

CREATE TABLE IF NOT EXISTS procedimentos (
    codigo_procedimento VARCHAR NOT NULL,            -- 8-digit TUSS-like code
    descricao           VARCHAR NOT NULL,
    grupo               VARCHAR NOT NULL,            -- e.g. 'exames-laboratoriais', 'obstetricia'
    periodicidade_dias  INTEGER,                     -- minimum days between two; NULL = no limit
    idade_minima        INTEGER,                     -- NULL = no limit
    idade_maxima        INTEGER,                     -- NULL = no limit
    sexo_permitido      VARCHAR,                     -- 'M' / 'F'; NULL = any
    carencia_dias       INTEGER NOT NULL,            -- days after data_adesao before it is covered
    valor               DOUBLE PRECISION NOT NULL,
    valor_moderacao     DOUBLE PRECISION NOT NULL,   -- co-payment
    nivel_complexidade  INTEGER NOT NULL,            -- 1 (low) .. 4 (high)
    ordem               INTEGER NOT NULL,
    especial            BOOLEAN NOT NULL,
    pericia_inicial     BOOLEAN NOT NULL
);

CREATE TABLE IF NOT EXISTS guias (
    id_guia             BIGINT NOT NULL,
    id_beneficiario     VARCHAR NOT NULL,
    data_solicitacao    TIMESTAMP NOT NULL,
    codigo_procedimento VARCHAR NOT NULL,
    tipo_guia           VARCHAR NOT NULL,            -- 'consulta' / 'sadt' / 'internacao' / 'odontologia'
    id_prestador        VARCHAR NOT NULL,
    texto_anexo         VARCHAR,
    decisao             VARCHAR,                     -- 'autorizado' / 'negado'; NULL while pending
    data_decisao        TIMESTAMP,                   -- NULL while pending
    cid                 VARCHAR                      -- optional extension: ICD-10 code
);

CREATE TABLE IF NOT EXISTS eventos (
    id_beneficiario     VARCHAR NOT NULL,
    codigo_procedimento VARCHAR NOT NULL,
    data_realizacao     DATE NOT NULL,
    valor               DOUBLE PRECISION NOT NULL
);
