"""Fixed texts of the fact sheets: the disclaimer, labels of codes and scores, the page's CSS."""

from vigia.sus.scoring import SCORE_VALOR_AIH

DISCLAIMER = (
    "Anomalias estatísticas não são prova de fraude. Esta folha reúne indícios para orientar a "
    "auditoria: uma produção fora do padrão pode ter explicação legítima (campanhas, unidades "
    "móveis, referência regional, municípios pequenos, mudanças de cadastro ou de faturamento). "
    "Nenhuma conclusão deve ser tirada sem verificação documental."
)

# CNES TP_UNID (tipo de unidade) labels for the codes most often seen; others are shown as the bare code.
TP_UNID = {
    "01": "posto de saúde", "02": "centro de saúde / unidade básica", "04": "policlínica",
    "05": "hospital geral", "07": "hospital especializado", "15": "unidade mista",
    "20": "pronto-socorro geral", "21": "pronto-socorro especializado", "22": "consultório isolado",
    "32": "unidade móvel fluvial", "36": "clínica / centro de especialidade",
    "39": "unidade de apoio diagnose e terapia (SADT isolado)", "40": "unidade móvel terrestre",
    "42": "unidade móvel de nível pré-hospitalar na área de urgência", "43": "farmácia",
    "50": "unidade de vigilância em saúde", "62": "hospital-dia isolado",
    "70": "centro de atenção psicossocial (CAPS)", "73": "pronto atendimento",
}

SCORE_DESCRIPTIONS = {
    "oscilacao_quantidade_m12": "(quantidade do mês + 1) ÷ (mediana da quantidade nos 12 meses anteriores + 1)",
    "oscilacao_valor_m12": "(valor do mês + 1) ÷ (mediana do valor nos 12 meses anteriores + 1)",
    "oscilacao_quantidade_m6": "(quantidade do mês + 1) ÷ (mediana da quantidade nos 6 meses anteriores + 1)",
    "oscilacao_valor_m6": "(valor do mês + 1) ÷ (mediana do valor nos 6 meses anteriores + 1)",
    "taxa_per_capita_eb": ("Σ sobre os municípios de (participação do estabelecimento em 12 meses × escore "
                           "municipal); escore municipal = soma em 12 meses de max(0, taxa EB − limiar), "
                           "limiar = {k} × taxa nacional"),
    SCORE_VALOR_AIH: ("z robusto do log do valor médio por AIH frente aos estabelecimentos do país: "
                      "(x − mediana) ÷ (1,4826 × MAD)"),
}

FLAG_LABELS = {
    "unidade_movel": "unidade móvel",
    "pico_regional": "pico regional (provável campanha ou epidemia)",
    "municipio_pequeno": "município pequeno (taxa per capita instável)",
}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0 auto;max-width:1100px;
padding:1.2rem;color:#222;line-height:1.45}
h1{font-size:1.45rem;margin:.2rem 0}
h2{font-size:1.15rem;margin-top:2rem;border-bottom:2px solid #ddd;padding-bottom:.2rem}
h3{font-size:1rem;margin-top:1.2rem}
.aviso{background:#fff4ce;border:2px solid #e0a800;border-radius:6px;padding:.8rem 1rem;margin:1rem 0;font-size:1.02rem}
dl.resumo{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:.8rem 0}
dl.resumo dt{font-weight:600;color:#555}dl.resumo dd{margin:0}
table{border-collapse:collapse;margin:.6rem 0;font-size:.88rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;vertical-align:top}th{background:#f2f2f2;text-align:left}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
figure{margin:.8rem 0}figure svg{max-width:100%;height:auto}figcaption{font-size:.85rem;color:#555}
.nota{font-size:.85rem;color:#555}.destaque{font-size:1.1rem;font-weight:700}
ul.flags li{margin:.3rem 0}footer{margin-top:2rem;font-size:.8rem;color:#777}
@media print{h2{page-break-after:avoid}figure{page-break-inside:avoid}}
"""
