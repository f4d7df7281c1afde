"""The versioned targets table: validation, code expansion, no overlap in the default set."""

import pandas as pd
import pytest

from vigia.sus import targets


def test_default_set_is_valid_forma_level_and_never_overlaps():
    t = targets.load()
    assert len(t) >= 10 and set(t["sistema"]) == {"SIA", "SIH"}
    codes = targets.expand_codes(t)
    assert set(codes["comprimento"]) == {6}          # forma de organização level
    assert targets.overlaps(t) == []
    targets.check_no_overlap(t)
    assert t.loc[t["alvo"] == "SIA-030402", "idade_min"].item() == 18


def write(tmp_path, rows):
    path = tmp_path / "alvos.csv"
    pd.DataFrame(rows, columns=targets.COLUMNS).to_csv(path, index=False)
    return path


def test_errors_name_the_file_row_and_field(tmp_path):
    path = write(tmp_path, [
        ["A", "1", "ok", "SIA", "0204", "", "", "ambos"],
        ["B", "1", "bad", "SIX", "02040", "12", "5", "soma"],
    ])
    with pytest.raises(targets.TargetError) as err:
        targets.load(path)
    text = str(err.value)
    assert f"{path}, row 3 (alvo B): sistema 'SIX'" in text
    assert "procedimento '02040' must be 2, 4, 6 or 10 digits" in text
    assert "medida 'soma'" in text and "idade_min 12 is above idade_max 5" in text


def test_nested_codes_overlap_unless_ages_are_disjoint(tmp_path):
    path = write(tmp_path, [
        ["A", "1", "radiologia", "SIA", "0204", "", "", "ambos"],
        ["B", "1", "mamografia", "SIA", "0204030188", "40", "", "ambos"],
        ["C", "1", "radiologia infantil", "SIH", "0204", "", "11", "ambos"],
        ["D", "1", "mamografia jovem", "SIA", "0204030188", "", "39", "quantidade"],
    ])
    t = targets.load(path, allow_overlap=True)
    assert targets.overlaps(t) == ["A (0204) overlaps B (0204030188)", "A (0204) overlaps D (0204030188)"]
    with pytest.raises(targets.TargetError, match="cannot be summed"):
        targets.check_no_overlap(t)
    with pytest.raises(targets.TargetError) as err:  # what the cubes load: the default refuses the table
        targets.load(path)
    assert str(err.value).startswith(f"{path}: targets overlap, so production would be counted twice")


def test_nested_codes_within_one_target_overlap(tmp_path):
    # the cube joins production to each code of a target: 0202 and 020201 would count 020201's production twice
    path = write(tmp_path, [["A", "1", "diagnóstico", "SIA", "0202;020201", "", "", "ambos"],
                            ["B", "1", "patologia", "SIA", "0203", "", "", "ambos"]])
    with pytest.raises(targets.TargetError, match=r"A \(0202\) overlaps A \(020201\)"):
        targets.load(path)


def test_the_default_sih_targets_are_named_after_what_the_real_admissions_treat():
    # the real RD rows (tests/fixtures/datasus): the admissions of forma 030310 have pregnancy diagnoses
    # (ICD-10 chapter XV, O00-O99), those of 030314 respiratory ones (chapter X, J); 030310 was once named
    # "Tratamento em pneumologia"
    from pathlib import Path

    rd = pd.read_parquet(Path(__file__).parents[1] / "fixtures" / "datasus" / "SIH_RD_AC_201606_head100.parquet",
                         columns=["PROC_REA", "DIAG_PRINC"])
    pregnancy = rd[rd["PROC_REA"].str.startswith("030310")]
    assert len(pregnancy) >= 3 and pregnancy["DIAG_PRINC"].str.startswith("O").all()
    names = targets.load().set_index("alvo")["nome"]
    assert names["SIH-030310"] == "Tratamento durante a gestação, parto e puerpério"
    assert "pneumo" not in " ".join(names).lower()
