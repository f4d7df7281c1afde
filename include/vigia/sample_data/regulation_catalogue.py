"""The procedure catalogue of the sample ``regulation_source`` (vigia.sample_data.regulation).

32 TUSS-like procedures with what the sample rulesets need: total cholesterol ``40301630``
(periodicity 30 days), appendectomy ``31003079`` (once in a lifetime, written
``periodicidade_dias = ONCE_IN_A_LIFETIME = 36500``), obstetric procedures restricted to sex 'F',
orthodontics (grupo ``odontologia-ortodontia``, ages 7-18), procedures with carência (0-300 days),
and ``especial`` / ``pericia_inicial`` procedures a human reviews. Also the generator's other fixed
vocabularies: the "chronic" procedures half of a beneficiary's history repeats, ICD-10 codes per
group (the optional ``cid`` column) and the attachment texts (``texto_anexo``), some of which carry
the justification keywords of the hidden policy.

:func:`catalogue` is the ``procedimentos`` table plus two generator-only columns; the generator and
its policy live in :mod:`vigia.sample_data.regulation`, which re-exports these names.
"""

from __future__ import annotations

import pandas as pd

ONCE_IN_A_LIFETIME = 36500    # periodicidade_dias of procedures done once in a lifetime
JUSTIFICATION_KEYWORDS = ("urgência", "oncológico", "judicial")

# codigo, descricao, grupo, periodicidade, idade_min, idade_max, sexo, carencia, valor, moderacao,
# nivel, especial, pericia_inicial, tipo_guia, request weight
PROCEDURES = [
    ("10101012", "Consulta em consultório", "consultas", None, None, None, None, 30, 120.0, 30.0, 1, False, False, "consulta", 14.0),
    ("10101039", "Consulta em pronto-socorro", "consultas", None, None, None, None, 1, 150.0, 40.0, 1, False, False, "consulta", 4.0),
    ("10106146", "Consulta de puericultura", "consultas", 30, None, 12, None, 30, 110.0, 25.0, 1, False, False, "consulta", 2.0),
    ("40301630", "Colesterol total", "exames-laboratoriais", 30, None, None, None, 30, 8.0, 2.0, 1, False, False, "sadt", 6.0),
    ("40302040", "Glicose", "exames-laboratoriais", 30, None, None, None, 30, 6.0, 1.5, 1, False, False, "sadt", 6.0),
    ("40304361", "Hemograma completo", "exames-laboratoriais", 30, None, None, None, 30, 12.0, 3.0, 1, False, False, "sadt", 8.0),
    ("40316491", "Hormônio tireoestimulante (TSH)", "exames-laboratoriais", 180, None, None, None, 30, 25.0, 6.0, 1, False, False, "sadt", 3.0),
    ("40301508", "Creatinina", "exames-laboratoriais", 60, None, None, None, 30, 7.0, 2.0, 1, False, False, "sadt", 3.0),
    ("40311210", "Urina tipo I", "exames-laboratoriais", 30, None, None, None, 30, 9.0, 2.0, 1, False, False, "sadt", 3.0),
    ("40316572", "Antígeno prostático específico (PSA)", "exames-laboratoriais", 365, 40, None, "M", 30, 35.0, 8.0, 2, False, False, "sadt", 2.0),
    ("40808041", "Mamografia bilateral", "exames-imagem", 365, 35, None, "F", 180, 90.0, 20.0, 2, False, False, "sadt", 2.0),
    ("40901114", "Ultrassonografia de abdome total", "exames-imagem", 180, None, None, None, 180, 140.0, 30.0, 2, False, False, "sadt", 3.0),
    ("41001010", "Tomografia computadorizada de crânio", "exames-imagem", 180, None, None, None, 180, 420.0, 80.0, 3, False, False, "sadt", 1.5),
    ("41101014", "Ressonância magnética de coluna", "exames-imagem", 365, None, None, None, 180, 780.0, 120.0, 3, False, False, "sadt", 1.5),
    ("40601110", "Densitometria óssea", "exames-imagem", 365, 50, None, None, 180, 110.0, 25.0, 2, False, False, "sadt", 1.0),
    ("40707036", "PET-CT oncológico", "exames-imagem", 180, None, None, None, 180, 4500.0, 0.0, 4, True, False, "sadt", 0.6),
    ("40901238", "Ultrassonografia obstétrica", "obstetricia", 30, 12, 55, "F", 180, 160.0, 35.0, 2, False, False, "sadt", 1.5),
    ("31309054", "Cesariana", "obstetricia", 300, 12, 55, "F", 300, 2600.0, 0.0, 3, False, False, "internacao", 0.6),
    ("31309127", "Parto normal", "obstetricia", 300, 12, 55, "F", 300, 2200.0, 0.0, 3, False, False, "internacao", 0.6),
    ("31003079", "Apendicectomia", "cirurgia-geral", ONCE_IN_A_LIFETIME, None, None, None, 180, 3200.0, 0.0, 3, False, False, "internacao", 0.5),
    ("31005497", "Colecistectomia videolaparoscópica", "cirurgia-geral", ONCE_IN_A_LIFETIME, None, None, None, 180, 5400.0, 0.0, 3, False, False, "internacao", 0.5),
    ("31009336", "Herniorrafia inguinal", "cirurgia-geral", 365, None, None, None, 180, 2900.0, 0.0, 3, False, False, "internacao", 0.5),
    ("31002390", "Gastroplastia (cirurgia bariátrica)", "cirurgia-geral", ONCE_IN_A_LIFETIME, 18, 65, None, 180, 18000.0, 0.0, 4, True, True, "internacao", 0.4),
    ("20104030", "Sessão de quimioterapia", "oncologia", None, None, None, None, 180, 3800.0, 0.0, 4, True, False, "sadt", 0.8),
    ("20103093", "Sessão de fisioterapia", "terapias", 1, None, None, None, 30, 45.0, 12.0, 1, False, False, "sadt", 3.0),
    ("50000470", "Sessão de psicoterapia", "terapias", 7, None, None, None, 30, 90.0, 25.0, 1, False, False, "sadt", 2.0),
    ("81000065", "Consulta odontológica inicial", "odontologia-clinica", 180, None, None, None, 0, 60.0, 15.0, 1, False, False, "odontologia", 4.0),
    ("84000139", "Profilaxia: polimento coronário", "odontologia-clinica", 180, None, None, None, 0, 50.0, 12.0, 1, False, False, "odontologia", 3.0),
    ("85100196", "Restauração em resina composta", "odontologia-clinica", None, None, None, None, 30, 95.0, 20.0, 1, False, False, "odontologia", 3.0),
    ("83000089", "Tratamento endodôntico unirradicular", "odontologia-clinica", 365, None, None, None, 90, 380.0, 60.0, 2, False, True, "odontologia", 1.0),
    ("87000172", "Instalação de aparelho ortodôntico fixo", "odontologia-ortodontia", ONCE_IN_A_LIFETIME, 7, 18, None, 180, 900.0, 150.0, 2, False, True, "odontologia", 1.0),
    ("87000180", "Manutenção de aparelho ortodôntico", "odontologia-ortodontia", 30, 7, 18, None, 180, 120.0, 25.0, 1, False, False, "odontologia", 2.0),
]
CATALOGUE_COLUMNS = ["codigo_procedimento", "descricao", "grupo", "periodicidade_dias", "idade_minima",
                     "idade_maxima", "sexo_permitido", "carencia_dias", "valor", "valor_moderacao",
                     "nivel_complexidade", "especial", "pericia_inicial", "tipo_guia", "peso"]
# the procedures half of a beneficiary's history repeats (one per beneficiary)
CHRONIC = ["40301630", "40302040", "40304361", "40316491", "40301508", "20103093", "50000470", "10101012"]
CID_BY_GROUP = {
    "consultas": ["Z00.0", "J06.9", "I10", "M54.5"],
    "exames-laboratoriais": ["E78.0", "E11.9", "Z00.0", "N39.0"],
    "exames-imagem": ["R10.4", "M54.5", "G43.9", "C50.9"],
    "obstetricia": ["Z34.9", "O80", "O82"],
    "cirurgia-geral": ["K35.8", "K80.2", "K40.9", "E66.0"],
    "oncologia": ["C50.9", "C34.9", "C18.9"],
    "terapias": ["M54.5", "F32.9", "S83.5"],
    "odontologia-clinica": ["K02.1", "K04.0", "K05.1"],
    "odontologia-ortodontia": ["K07.3", "K07.2"],
}
ANEXO_PLAIN = ["Solicitação de rotina", "Paciente em acompanhamento ambulatorial", "Relatório médico anexo",
                "Laudo de exame anterior anexo", "Controle pós-tratamento", "Pedido médico digitalizado"]
ANEXO_KEYWORD = ["Caso de urgência: dor abdominal aguda", "Paciente oncológico em tratamento ativo",
                  "Cumprimento de decisão judicial (liminar)", "Urgência: risco de agravamento do quadro",
                  "Acompanhamento oncológico: estadiamento", "Determinação judicial anexa"]


def catalogue() -> pd.DataFrame:
    """The ``procedimentos`` table plus the generator-only ``tipo_guia`` and ``peso`` (request weight)."""
    df = pd.DataFrame(PROCEDURES, columns=CATALOGUE_COLUMNS)
    for col in ("periodicidade_dias", "idade_minima", "idade_maxima"):
        df[col] = df[col].astype("Int64")
    df["ordem"] = df.groupby("grupo").cumcount() + 1
    return df
