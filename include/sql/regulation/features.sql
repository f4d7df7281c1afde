-- Point-in-time features of the guias requested in [:inicio, :fim) (DuckDB and PostgreSQL alike).
--
-- Binds: :inicio, :fim (dates, :fim exclusive), :historia_inicio (= :inicio - 366 days: older guias
-- and eventos cannot fall in any window), :only_pending (true: only pending guias; false: only
-- decided ones).
--
-- Point-in-time rule, for a guia requested at timestamp ts on day d:
--   * eventos count when data_realizacao < d (an event on the request's own day is NOT counted:
--     an event has no time of day, so it cannot be placed before the request);
--   * other guias count when data_solicitacao < ts (same-day guias count only if strictly earlier).
-- Windows: mes = 30, semestre = 182, ano = 365 days before d, i.e. events on days d-N .. d-1, and
-- guias on days d-N .. d-1 plus the strictly earlier ones of day d.
--
-- Method: three equi-joins of the target guias with their beneficiary's history, each followed by
-- one hash aggregate per guia (no window function, no sort of the event table; integer day numbers:
-- date - DATE '1970-01-01' is an integer in both engines):
--   * hist_ev: guia x eventos of the same beneficiary on days d-365 .. d-1 (hash join on
--     id_beneficiario, residual filter on the day), with conditional counts:
--     exames_N = #(day >= d-N), mesmo_procedimento_N = the same with the same code,
--     mesma_complexidade_N = the same with the same non-NULL nivel_complexidade (events of codes
--     missing from the catalogue have no level and never count);
--   * ultimo: guia x eventos of the same beneficiary AND procedure before d (whole history),
--     MAX(day): dias_desde_mesmo_procedimento = d - ultimo;
--   * hist_g: guia x guias of the same beneficiary with ts' < ts and day >= d-365, counted per window.
-- Only the needed columns of eventos are read, and only events of the target beneficiaries.
-- Cost: sum over the beneficiaries of guias x events in the year before (~12 pairs per guia in the
-- sample data). This replaced running window sums read at four markers per guia (three sorts of
-- markers + events: on a 200k-guia / 2M-event sample the window operators took 21 of 22 s; this
-- version runs in ~3 s with identical output; see docs/benchmarks.md). Pre-aggregating eventos per
-- (beneficiary, procedure, day) was measured too and did not pay: it removed 1% of the rows and
-- cost more than it saved. A source where single beneficiaries hold tens of thousands of events a
-- year would favour the running-sum method again (it is in git history).
-- Guias with a NULL id_beneficiario or codigo_procedimento are left out (nothing to match them to).
WITH alvo AS (
    SELECT g.id_guia, g.id_beneficiario, g.data_solicitacao, g.data_decisao, g.decisao,
           g.codigo_procedimento, g.tipo_guia, g.id_prestador,
           CAST(g.data_solicitacao AS DATE) - DATE '1970-01-01' AS dia
    FROM guias g
    WHERE g.data_solicitacao >= :inicio
      AND g.data_solicitacao < :fim
      AND g.id_beneficiario IS NOT NULL
      AND g.codigo_procedimento IS NOT NULL
      AND ((:only_pending AND g.decisao IS NULL) OR (NOT :only_pending AND g.decisao IS NOT NULL))
),
alvo_nivel AS (
    SELECT a.id_guia, a.id_beneficiario, a.codigo_procedimento, a.dia, p.nivel_complexidade AS nivel
    FROM alvo a
    LEFT JOIN procedimentos p ON p.codigo_procedimento = a.codigo_procedimento
),
ev AS (
    SELECT e.id_beneficiario, e.codigo_procedimento, e.data_realizacao - DATE '1970-01-01' AS dia,
           p.nivel_complexidade AS nivel
    FROM eventos e
    LEFT JOIN procedimentos p ON p.codigo_procedimento = e.codigo_procedimento
    WHERE e.data_realizacao < :fim
      AND e.data_realizacao >= :historia_inicio
      AND e.id_beneficiario IN (SELECT id_beneficiario FROM alvo)
),
hist_ev AS (
    SELECT a.id_guia,
           SUM(CASE WHEN e.dia >= a.dia - 30 THEN 1 ELSE 0 END) AS exames_mes,
           SUM(CASE WHEN e.dia >= a.dia - 182 THEN 1 ELSE 0 END) AS exames_semestre,
           COUNT(e.dia) AS exames_ano,
           SUM(CASE WHEN e.codigo_procedimento = a.codigo_procedimento AND e.dia >= a.dia - 30
                    THEN 1 ELSE 0 END) AS mesmo_procedimento_mes,
           SUM(CASE WHEN e.codigo_procedimento = a.codigo_procedimento AND e.dia >= a.dia - 182
                    THEN 1 ELSE 0 END) AS mesmo_procedimento_semestre,
           SUM(CASE WHEN e.codigo_procedimento = a.codigo_procedimento THEN 1 ELSE 0 END) AS mesmo_procedimento_ano,
           SUM(CASE WHEN e.nivel = a.nivel AND e.dia >= a.dia - 30 THEN 1 ELSE 0 END) AS mesma_complexidade_mes,
           SUM(CASE WHEN e.nivel = a.nivel AND e.dia >= a.dia - 182 THEN 1 ELSE 0 END) AS mesma_complexidade_semestre,
           SUM(CASE WHEN e.nivel = a.nivel THEN 1 ELSE 0 END) AS mesma_complexidade_ano
    FROM alvo_nivel a
    JOIN ev e ON e.id_beneficiario = a.id_beneficiario AND e.dia < a.dia AND e.dia >= a.dia - 365
    GROUP BY a.id_guia
),
ultimo AS (
    SELECT a.id_guia, MAX(e.data_realizacao) - DATE '1970-01-01' AS ultimo_mesmo_procedimento
    FROM alvo a
    JOIN eventos e ON e.id_beneficiario = a.id_beneficiario AND e.codigo_procedimento = a.codigo_procedimento
                  AND e.data_realizacao < CAST(a.data_solicitacao AS DATE)
    GROUP BY a.id_guia
),
hist_g AS (
    SELECT a.id_guia,
           SUM(CASE WHEN o.dia >= a.dia - 30 THEN 1 ELSE 0 END) AS guias_mes,
           SUM(CASE WHEN o.dia >= a.dia - 182 THEN 1 ELSE 0 END) AS guias_semestre,
           COUNT(*) AS guias_ano
    FROM alvo a
    JOIN (SELECT g.id_beneficiario, g.data_solicitacao,
                 CAST(g.data_solicitacao AS DATE) - DATE '1970-01-01' AS dia
          FROM guias g
          WHERE g.data_solicitacao >= :historia_inicio AND g.data_solicitacao < :fim) o
      ON o.id_beneficiario = a.id_beneficiario
     AND o.data_solicitacao < a.data_solicitacao
     AND o.dia >= a.dia - 365
    GROUP BY a.id_guia
)
SELECT a.id_guia,
       a.id_beneficiario,
       a.data_solicitacao,
       a.data_decisao,
       a.decisao,
       CASE WHEN a.decisao = 'autorizado' THEN 1 WHEN a.decisao = 'negado' THEN 0 END AS autorizado,
       bn.sexo,
       CAST(EXTRACT(YEAR FROM a.data_solicitacao) - EXTRACT(YEAR FROM bn.data_nascimento)
            - CASE WHEN EXTRACT(MONTH FROM a.data_solicitacao) < EXTRACT(MONTH FROM bn.data_nascimento)
                     OR (EXTRACT(MONTH FROM a.data_solicitacao) = EXTRACT(MONTH FROM bn.data_nascimento)
                         AND EXTRACT(DAY FROM a.data_solicitacao) < EXTRACT(DAY FROM bn.data_nascimento))
                   THEN 1 ELSE 0 END AS INTEGER) AS idade,
       bn.tipo_beneficiario,
       a.tipo_guia,
       a.id_prestador,
       a.codigo_procedimento,
       p.grupo,
       p.periodicidade_dias,
       p.idade_minima,
       p.idade_maxima,
       p.sexo_permitido,
       p.carencia_dias,
       p.valor,
       p.valor_moderacao,
       p.nivel_complexidade,
       p.ordem,
       p.especial,
       p.pericia_inicial,
       CAST(CAST(a.data_solicitacao AS DATE) - bn.data_adesao AS INTEGER) AS dias_de_adesao,
       CAST(a.dia - u.ultimo_mesmo_procedimento AS INTEGER) AS dias_desde_mesmo_procedimento,
       CAST(COALESCE(h.exames_mes, 0) AS INTEGER) AS exames_mes,
       CAST(COALESCE(h.exames_semestre, 0) AS INTEGER) AS exames_semestre,
       CAST(COALESCE(h.exames_ano, 0) AS INTEGER) AS exames_ano,
       CAST(COALESCE(h.mesmo_procedimento_mes, 0) AS INTEGER) AS mesmo_procedimento_mes,
       CAST(COALESCE(h.mesmo_procedimento_semestre, 0) AS INTEGER) AS mesmo_procedimento_semestre,
       CAST(COALESCE(h.mesmo_procedimento_ano, 0) AS INTEGER) AS mesmo_procedimento_ano,
       CAST(COALESCE(h.mesma_complexidade_mes, 0) AS INTEGER) AS mesma_complexidade_mes,
       CAST(COALESCE(h.mesma_complexidade_semestre, 0) AS INTEGER) AS mesma_complexidade_semestre,
       CAST(COALESCE(h.mesma_complexidade_ano, 0) AS INTEGER) AS mesma_complexidade_ano,
       CAST(COALESCE(hg.guias_mes, 0) AS INTEGER) AS guias_mes,
       CAST(COALESCE(hg.guias_semestre, 0) AS INTEGER) AS guias_semestre,
       CAST(COALESCE(hg.guias_ano, 0) AS INTEGER) AS guias_ano
FROM alvo a
LEFT JOIN hist_ev h ON h.id_guia = a.id_guia
LEFT JOIN hist_g hg ON hg.id_guia = a.id_guia
LEFT JOIN ultimo u ON u.id_guia = a.id_guia
LEFT JOIN beneficiarios bn ON bn.id_beneficiario = a.id_beneficiario
LEFT JOIN procedimentos p ON p.codigo_procedimento = a.codigo_procedimento
ORDER BY a.data_solicitacao, a.id_guia
