"""What a condition may read: attributes (with their types) and history functions.

Every attribute is one column of the request relation built by
``include/sql/rules/requests.sql`` (the SQL engine) and by
:func:`vigia.rules.interpreter.request_row` (the reference interpreter), with the
same name. Types: ``num``, ``str``, ``date``, ``bool``.
"""

from __future__ import annotations

import unicodedata

ATTRIBUTES: dict[str, str] = {
    # beneficiary
    "sexo": "str",
    "idade": "num",                      # whole years at the request's date
    "tipo_beneficiario": "str",
    "dias_de_adesao": "num",             # request date - data_adesao, in days
    # request (guia)
    "tipo_guia": "str",
    "procedimento": "str",               # codigo_procedimento (8 digits, as text)
    "data_solicitacao": "date",          # the request's date (day)
    "prestador": "str",                  # id_prestador
    "cid": "str",                        # ICD-10 code, optional column of guias
    "texto_anexo": "str",
    # catalogue (procedimentos) of the requested procedure
    "grupo": "str",
    "nivel_complexidade": "num",
    "periodicidade_dias": "num",
    "carencia_dias": "num",
    "idade_minima": "num",
    "idade_maxima": "num",
    "sexo_permitido": "str",
    "valor": "num",
    "valor_moderacao": "num",
    "ordem": "num",
    "especial": "bool",
    "pericia_inicial": "bool",
}

# other spellings a regulator may use -> canonical name (keys are accent-free, lower case)
ALIASES: dict[str, str] = {
    "tipo de beneficiario": "tipo_beneficiario",
    "tipo de guia": "tipo_guia",
    "data da solicitacao": "data_solicitacao",
    "data_da_solicitacao": "data_solicitacao",
    "anexo": "texto_anexo",
    "id_prestador": "prestador",
    "codigo_procedimento": "procedimento",
    "complexidade": "nivel_complexidade",
}

FUNCTION_TYPES = {"quantidade": "num", "valor_total": "num", "ultima_realizacao": "num"}

OUTCOMES = ("bloquear", "negar", "analise_tecnica", "autorizar")

# accents stripped by keyword matching (`contém`), identical in Python and in SQL TRANSLATE
ACCENTED = "áàâãäéèêëíìîïóòôõöúùûüçñÁÀÂÃÄÉÈÊËÍÌÎÏÓÒÔÕÖÚÙÛÜÇÑ"
PLAIN = "aaaaaeeeeiiiiooooouuuucnaaaaaeeeeiiiiooooouuuucn"
_TABLE = str.maketrans(ACCENTED + "ABCDEFGHIJKLMNOPQRSTUVWXYZ", PLAIN + "abcdefghijklmnopqrstuvwxyz")


def fold(text: str) -> str:
    """Accent- and case-folded text, as ``contém`` compares it: accents in ACCENTED removed,
    then ASCII lower case (SQL: ``LOWER(TRANSLATE(x, ACCENTED, PLAIN))``)."""
    return text.translate(_TABLE)


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def canonical(name: str) -> str | None:
    """The canonical attribute for a spelling, or None when it is unknown."""
    key = strip_accents(name).lower().strip()
    key = ALIASES.get(key, key)
    return key if key in ATTRIBUTES else None
