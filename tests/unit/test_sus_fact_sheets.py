"""Fact sheets: one self-contained, escaped, Brazilian-formatted HTML page per establishment x target x month."""

from __future__ import annotations

import ast
import html
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from tests.unit.sus_sample import END, scored_month
from vigia.sus import fact_sheets
from vigia.sus.fact_sheets import data
from vigia.sus.fact_sheets.formatting import same_month

@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    return scored_month(tmp_path_factory.mktemp("landing"), municipalities=120, sia_rows_per_month=30_000)


@pytest.fixture(scope="module")
def mobile_sheet(scored):
    p = scored["planted"]["campanha_unidade_movel"]
    page = fact_sheets.render(p["cnes"], p["alvo"], END, scored["cube"], scored["result"], scored["names"],
                              scored["registry"], population=scored["population"])
    return p, page


@pytest.fixture(scope="module")
def sih_sheet(scored):
    p = scored["planted"]["hospital_caro"]
    page = fact_sheets.render(p["cnes"], p["alvo"], END, scored["cube"], scored["result"], scored["names"],
                              scored["registry"], population=scored["population"])
    return p, page


def section(page: str, section_id: str) -> str:
    m = re.search(rf'<section id="{section_id}">(.*?)</section>', page, flags=re.S)
    assert m, f"section {section_id} missing"
    return m.group(1)


def chart_texts(html_text: str) -> list[str]:
    """The text drawn in the inline SVG charts (matplotlib writes it as <text> elements)."""
    return [html.unescape(t) for t in re.findall(r"<text\b[^>]*>([^<]*)</text>", html_text)]


def n_charts(page: str) -> int:
    return page.count("<svg") + page.count("data:image/png;base64")


def brl(x: float) -> str:
    return "R$ " + f"{x:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def test_sheet_is_self_contained(mobile_sheet):
    _, page = mobile_sheet
    assert page.startswith("<!DOCTYPE html>")
    for external in ("http://", "https://", "<script src", "<link"):
        assert external not in page, external
    assert "<script" not in page and "<img src=\"/" not in page


def test_sheet_has_header_disclaimer_charts_and_flags(mobile_sheet, scored):
    p, page = mobile_sheet
    assert p["cnes"] in page and p["alvo"] in page
    assert html.escape(scored["names"][p["alvo"]]) in page
    assert "não são prova de fraude" in page
    assert 'class="aviso"' in page.split('id="resumo"')[0]  # the disclaimer comes before everything else
    resumo = section(page, "resumo")
    assert "40 — unidade móvel terrestre" in resumo  # TP_UNID from the registry
    rk = scored["result"].ranking.set_index("cnes").loc[p["cnes"]]
    assert f"{int(rk['rank'])}º de" in resumo and f"{int(rk['rank_escore'])}º de" in resumo
    assert brl(rk["excesso_valor"]) in resumo
    assert "unidade_movel" in section(page, "sinalizacoes")
    assert n_charts(section(page, "taxas-municipais")) == 1
    assert n_charts(section(page, "serie-producao")) == 1
    assert 'id="valor-por-aih"' not in page  # SIA target: no value-per-AIH chart
    assert n_charts(page) >= 2


def test_numbers_behind_the_scores_in_brazilian_format(mobile_sheet, scored):
    p, page = mobile_sheet
    numbers = section(page, "numeros")
    s = scored["result"].scores
    own = s[(s["cnes"] == p["cnes"]) & (s["alvo"] == p["alvo"])]
    assert len(own) and all(name in numbers for name in own["score"])
    # every planted municipality has its excess row, with the population written 1.234 style
    mun = scored["result"].municipal.set_index(["municipio", "alvo"])
    for m in p["municipios"]:
        assert f"<td>{m}</td>" in numbers
        pop = int(mun.loc[(m, p["alvo"]), "populacao"])
        assert f"{pop:,}".replace(",", ".") in numbers
    assert re.search(r"R\$ \d{1,3}(\.\d{3})+,\d{2}", numbers)  # R$ 1.234,56
    assert re.search(r">\d{1,3},\d%<", numbers)  # share 99,4%
    assert not re.search(r"\d,\d{3}\.\d", page)  # no English 1,234.5 anywhere


def test_text_is_escaped(scored):
    p = scored["planted"]["salto_abrupto"]
    names = {**scored["names"], p["alvo"]: 'Consultas <b>perigosas</b> & "cia"'}
    page = fact_sheets.render(p["cnes"], p["alvo"], END, scored["cube"], scored["result"], names)
    assert "&lt;b&gt;perigosas&lt;/b&gt; &amp; &quot;cia&quot;" in page
    assert "<b>" not in page
    assert "cadastro CNES não fornecido" in page  # no registry given
    assert n_charts(page) >= 2


def test_sih_sheet_shows_the_value_per_admission_chart(sih_sheet):
    _, page = sih_sheet
    aih = section(page, "valor-por-aih")
    assert n_charts(aih) == 1 and "este estabelecimento" in aih
    assert n_charts(page) == 3
    assert "mediana nacional" in section(page, "numeros")


def test_charts_carry_the_sheet_numbers(mobile_sheet, sih_sheet, scored):
    """The numbers drawn in the charts are the month's, computed here from the cube and the populations."""
    cube, result = scored["cube"], scored["result"]
    month = cube[pd.to_datetime(cube["competencia"]).dt.to_period("M") == pd.Period(END, "M")]
    pops = result.municipal[pd.to_datetime(result.municipal["competencia"]).dt.to_period("M")
                            == pd.Period(END, "M")].drop_duplicates("municipio")
    p, page = mobile_sheet
    rates = chart_texts(section(page, "taxas-municipais"))
    # the national rate is b, the rate the per-capita threshold multiplies (limiar = 3 x b): of every
    # municipality of the population file, those without production of the target included
    target = result.municipal[(result.municipal["alvo"] == p["alvo"]) & result.municipal["limiar"].notna()]
    b = target["limiar"].iloc[0] / 3
    population = scored["population"]
    q = month.loc[(month["alvo"] == p["alvo"]) & month["uf"].notna(), "quantidade"].sum()
    assert b == pytest.approx(q / population.loc[population["ano"] == END.year, "populacao"].sum() * 100_000)
    nacional = fact_sheets.fmt_num(b, 2)
    assert f"taxa nacional ({nacional})" in rates
    assert f"Taxa nacional: {nacional} por 100 mil habitantes" in section(page, "taxas-municipais")
    # the sample has 5 of the 27 UFs: the sheet says the "national" rate is theirs
    ufs = sorted(pops["uf"].unique())
    assert len(ufs) == 5
    assert f"A taxa nacional é a das 5 UFs com arquivos do mês no armazém ({', '.join(ufs)})." in page
    # the numbers behind the per-capita score, per municipality served
    numbers = section(page, "numeros")
    for m in p["municipios"]:
        row = target[target["municipio"] == m].iloc[0]
        assert fact_sheets.fmt_num(row["taxa_eb"], 2) in numbers
        assert fact_sheets.fmt_num(row["escore_municipal"], 2) in numbers
    uf = dict(zip(pops["municipio"], pops["uf"]))
    assert all(f"{m} ({uf[m]})" in rates for m in p["municipios"])  # the planted municipalities are on the axis
    months = chart_texts(section(page, "serie-producao"))
    assert [t for t in months if re.fullmatch(r"[a-z]{3}/\d\d", t)] == \
        ["out/25", "nov/25", "dez/25", "jan/26", "fev/26", "mar/26", "abr/26", "mai/26", "jun/26", "jul/26",
         "ago/26", "set/26", "out/26"]

    p, page = sih_sheet
    own = month[(month["cnes"] == p["cnes"]) & (month["alvo"] == p["alvo"])]
    mean = fact_sheets.fmt_brl(own["valor"].sum() / own["n_aih"].sum())
    assert f"este estabelecimento ({mean})" in chart_texts(section(page, "valor-por-aih"))
    assert f'<td class="num">{mean}</td>' in section(page, "numeros")  # the table shows the same mean


def test_summary_points_to_the_flags_section(mobile_sheet, sih_sheet):
    for (_, page), number in ((mobile_sheet, 4), (sih_sheet, 5)):  # SIA sheets have no value-per-AIH section
        assert f'<section id="sinalizacoes"><h2>{number}. ' in page
        if "(ver seção" in section(page, "resumo"):
            assert f"(ver seção {number})" in section(page, "resumo")
    assert "(ver seção 4)" in section(mobile_sheet[1], "resumo")


def test_select_top_picks_the_largest_excess_or_the_most_extreme_score(scored):
    result = scored["result"]
    n = int((result.ranking["excesso_valor"] > 0).sum()) + 10  # reach past the last one with excess
    sel = fact_sheets.select_top(result, top=n)
    ranking = result.ranking.nsmallest(n, "rank")
    assert list(sel["cnes"]) == list(ranking["cnes"]) and list(sel["rank"]) == list(ranking["rank"])
    excess = ranking.set_index("cnes")["excesso_valor"]
    for row in sel.itertuples(index=False):
        if row.criterio == "excesso":
            assert excess[row.cnes] > 0
        else:
            assert excess[row.cnes] == 0
            s = result.scores
            assert ((s["cnes"] == row.cnes) & (s["alvo"] == row.alvo) & (s["score"] == row.criterio)).any()
    assert (sel["criterio"] != "excesso").any()  # the fallback is exercised
    for kind in ("campanha_unidade_movel", "excesso_per_capita"):
        p = scored["planted"][kind]
        if p["cnes"] in set(sel["cnes"]):
            assert sel.set_index("cnes").loc[p["cnes"], "alvo"] == p["alvo"]


def test_render_top_writes_one_sheet_per_top_establishment(scored, tmp_path):
    result, mobile = scored["result"], scored["planted"]["campanha_unidade_movel"]
    top3 = list(result.ranking.nsmallest(3, "rank")["cnes"])
    assert mobile["cnes"] in top3
    paths = fact_sheets.render_top(result, scored["cube"], scored["names"], scored["registry"], tmp_path, top=3)
    assert len(paths) == 3 and all(p.exists() and p.parent == tmp_path for p in paths)
    names = sorted(p.name for p in paths)
    assert sorted(p.name for p in tmp_path.iterdir()) == names  # no temporary files left behind
    found = {}
    for name in names:
        m = re.fullmatch(r"2026-10_(\d{7})_(SI[AH]-\d{6})\.html", name)
        assert m, name
        found[m.group(1)] = m.group(2)
    assert set(found) == set(top3)
    assert f"2026-10_{mobile['cnes']}_{mobile['alvo']}.html" in names
    assert "unidade_movel" in (tmp_path / f"2026-10_{mobile['cnes']}_{mobile['alvo']}.html").read_text("utf-8")


def test_render_top_pages_are_the_pages_rendered_one_by_one(scored, tmp_path):
    """render_top filters the month once for all its sheets: each page is still exactly render()'s."""
    sel = fact_sheets.select_top(scored["result"], top=10)
    top = int(sel.loc[sel["alvo"].str.startswith("SIH"), "rank"].min())  # down to the first SIH sheet
    paths = fact_sheets.render_top(scored["result"], scored["cube"], scored["names"], scored["registry"], tmp_path,
                                   top=top)
    assert len(paths) == top
    sistemas = set()
    for path in paths:
        _, cnes, alvo = path.stem.split("_")
        sistemas.add(alvo[:3])
        alone = fact_sheets.render(cnes, alvo, END, scored["cube"], scored["result"], scored["names"],
                                   scored["registry"])
        assert path.read_text("utf-8") == alone, path.name
    assert sistemas == {"SIA", "SIH"}


def test_production_series_counts_absent_months_as_zero():
    cube = pd.DataFrame({
        "competencia": [date(2026, 1, 1), date(2026, 3, 1), date(2026, 4, 1), date(2026, 2, 1)],
        "cnes": ["1", "1", "1", "2"], "alvo": ["A"] * 4, "quantidade": [10.0, 30.0, 40.0, 5.0],
    })
    s = data.series(cube, "1", "A")
    assert list(s["quantidade"]) == [10.0, 0.0, 30.0, 40.0]
    assert s["mediana_anterior"].isna().iloc[0]
    assert list(s["mediana_anterior"].iloc[1:]) == [10.0, 5.0, 10.0]


def test_brazilian_number_formats():
    assert fact_sheets.fmt_brl(1234.56) == "R$ 1.234,56"
    assert fact_sheets.fmt_brl(1234567.891) == "R$ 1.234.567,89"
    assert fact_sheets.fmt_num(-0.001) == "0,00"
    assert fact_sheets.fmt_pct(0.4567) == "45,7%"
    assert fact_sheets.fmt_qty(19850.0) == "19.850" and fact_sheets.fmt_qty(2.5) == "2,50"
    assert fact_sheets.fmt_num(float("nan")) == "—" and fact_sheets.fmt_brl(None) == "—"


def test_write_is_atomic_and_overwrites(tmp_path):
    target = tmp_path / "sub" / "folha.html"
    fact_sheets.write(target, "<p>um</p>")
    fact_sheets.write(target, "<p>dois — ção</p>")
    assert target.read_text("utf-8") == "<p>dois — ção</p>"
    assert [p.name for p in target.parent.iterdir()] == ["folha.html"]


def test_matplotlib_is_imported_only_inside_functions():
    modules = sorted(Path(fact_sheets.__file__).parent.glob("*.py"))
    assert {m.name for m in modules} >= {"__init__.py", "charts.py", "data.py", "page.py"}
    for module in modules:
        tree = ast.parse(module.read_text("utf-8"))
        top_level = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = [a.name for n in top_level for a in n.names] + [n.module or "" for n in top_level
                                                                if isinstance(n, ast.ImportFrom)]
        assert not any(name.startswith("matplotlib") for name in names), module.name
        assert len(module.read_text("utf-8").splitlines()) < 400, module.name


def test_render_top_parts_are_disjoint_and_together_the_whole_top(scored, tmp_path):
    """Mapped fact_sheets tasks each render one part: dealt out in rank order, same files and bytes as one task."""
    args = (scored["result"], scored["cube"], scored["names"], scored["registry"])
    whole = fact_sheets.render_top(*args, tmp_path / "whole", top=7)
    assert len(whole) == 7
    order = list(fact_sheets.select_top(scored["result"], top=7)["cnes"])
    names = {}
    for part in range(3):
        written = fact_sheets.render_top(*args, tmp_path / "parts", top=7, part=part, parts=3)
        assert [p.name.split("_")[1] for p in written] == order[part::3]   # positions 0,3,6 / 1,4 / 2,5
        names[part] = {p.name for p in written}
    assert [len(n) for n in names.values()] == [3, 2, 2]
    assert not (names[0] & names[1]) and not (names[0] & names[2]) and not (names[1] & names[2])
    assert names[0] | names[1] | names[2] == {p.name for p in whole}
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == sorted(p.name for p in whole)
    for path in whole:
        assert (tmp_path / "parts" / path.name).read_bytes() == path.read_bytes(), path.name


@pytest.mark.parametrize("part, parts", [(3, 3), (-1, 2), (0, 0)])
def test_render_top_rejects_a_part_outside_its_parts_naming_both(scored, tmp_path, part, parts):
    with pytest.raises(ValueError, match=rf"0 <= part < parts .*got part={part}, parts={parts}$"):
        fact_sheets.render_top(scored["result"], scored["cube"], scored["names"], scored["registry"], tmp_path,
                               top=3, part=part, parts=parts)
    assert list(tmp_path.iterdir()) == []


def test_a_part_reads_only_its_rows_and_renders_the_pages_of_the_whole_cube(scored, tmp_path):
    """read_part_cube: Parquet filters keep the part's establishments (every month) and its targets' month;
    the pages are byte-identical to those rendered from the whole cube, and the series keep every month."""
    cube_file = tmp_path / "history.parquet"
    scored["cube"].to_parquet(cube_file, index=False)
    whole = pd.read_parquet(cube_file)
    result, names, registry = scored["result"], scored["names"], scored["registry"]
    expected = {p.name: p.read_bytes()
                for p in fact_sheets.render_top(result, whole, names, registry, tmp_path / "whole", top=9)}
    got = {}
    for part in range(2):
        chosen = fact_sheets.select_part(result, top=9, part=part, parts=2)
        cube, months = fact_sheets.read_part_cube(cube_file, chosen)
        assert months == data.cube_months(whole) and len(months) == 13
        assert 0 < len(cube) < len(whole) / 5                                   # the filter drops rows
        month = same_month(whole["competencia"], END)
        keep = whole["cnes"].isin(chosen["cnes"]) | (month & whole["alvo"].isin(chosen["alvo"]))
        pd.testing.assert_frame_equal(cube, whole[keep].reset_index(drop=True))  # those rows, in the file's order
        paths = fact_sheets.render_selected(chosen, result, cube, names, registry, tmp_path / "parts", months)
        assert [p.name.split("_")[1] for p in paths] == list(chosen["cnes"])
        got.update({p.name: p.read_bytes() for p in paths})
    assert got == expected and len(got) == 9
    assert {n.split("_")[2][:3] for n in got} == {"SIA", "SIH"}


def test_an_empty_part_reads_no_rows_but_the_months(scored, tmp_path):
    cube_file = tmp_path / "history.parquet"
    scored["cube"].to_parquet(cube_file, index=False)
    chosen = fact_sheets.select_part(scored["result"], top=1, part=1, parts=2)
    cube, months = fact_sheets.read_part_cube(cube_file, chosen)
    assert chosen.empty and cube.empty and list(cube.columns) == list(scored["cube"].columns) and len(months) == 13
    assert fact_sheets.render_selected(chosen, scored["result"], cube, scored["names"], None, tmp_path, months) == []


def test_state_rates_divide_by_every_municipality_of_the_state(scored):
    # the state rate of a target is its production in the UF over the population of EVERY municipality of the
    # UF (IBGE), not only of those with production that month
    from vigia.sus.fact_sheets.data import MonthData
    from vigia.sus.geo import ufs_of

    cube, result, population = scored["cube"], scored["result"], scored["population"]
    p = scored["planted"]["campanha_unidade_movel"]
    # a municipality with no production at all in the month (the sample's all produce something)
    uf_code = str(cube["municipio"].dropna().iloc[0])[:2]
    quiet = next(f"{uf_code}{i:04d}" for i in range(9999, 0, -1) if f"{uf_code}{i:04d}" not in set(population["municipio"]))
    population = pd.concat([population, pd.DataFrame({"municipio": [quiet], "ano": [END.year], "populacao": [250_000]})],
                           ignore_index=True)
    data = MonthData(cube, result, END, scored["registry"], [p["cnes"]], population=population)
    t = data.target(p["alvo"])
    month = cube[(pd.to_datetime(cube["competencia"]).dt.to_period("M") == pd.Period(END, "M"))
                 & (cube["alvo"] == p["alvo"])]
    year = population[population["ano"] == END.year].assign(uf=lambda d: ufs_of(d["municipio"]).to_numpy())
    produced = month.groupby(ufs_of(month["municipio"]).to_numpy())["quantidade"].sum()
    assert len(produced) == 5
    for uf, q in produced.items():
        assert t.por_uf[uf] == pytest.approx(q / year.loc[year["uf"] == uf, "populacao"].sum() * 100_000, rel=1e-12)
    # the populations of the municipalities with production alone (what the sheets used before) leave it out
    with_production = MonthData(cube, result, END, scored["registry"], [p["cnes"]]).target(p["alvo"])
    quiet_uf = ufs_of([quiet])[0]
    assert with_production.por_uf[quiet_uf] > t.por_uf[quiet_uf] * 1.01
    sheet = data.sheet(p["cnes"], p["alvo"])
    assert (sheet.detail["taxa_uf"] == sheet.detail["uf"].map(t.por_uf)).all()
