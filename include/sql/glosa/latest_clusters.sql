-- The latest month of glosa_clusters, in the column order of base_cluster_por_hospital.csv.
SELECT
    mes_recebimento, hospital, regional, tipo_despesa, setor_n1, setor_n2, tipo_grupo,
    tipo_atendimento, convenio, tipo_glosa, valor_cobrado, glosa_atual, ind_glosa,
    salto_valor, salto_indice, qtd_linhas_glosa, cluster
FROM glosa_clusters
WHERE competencia = (SELECT MAX(competencia) FROM glosa_clusters)
ORDER BY hospital, convenio, tipo_glosa, cluster, glosa_atual DESC
