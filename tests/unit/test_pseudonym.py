import pandas as pd
import pytest

from vigia import pseudonym


def test_keyed_deterministic_and_namespaced(monkeypatch):
    monkeypatch.setenv(pseudonym.KEY_ENV, "k" * 32)
    a = pseudonym.pseudonym("12345678900", "cpf")
    assert a == pseudonym.pseudonym("12345678900", "cpf")
    assert len(a) == 24 and "12345678900" not in a
    assert a != pseudonym.pseudonym("12345678900", "beneficiario")
    monkeypatch.setenv(pseudonym.KEY_ENV, "x" * 32)
    assert pseudonym.pseudonym("12345678900", "cpf") != a


def test_series_keeps_nulls_and_joins(monkeypatch):
    monkeypatch.setenv(pseudonym.KEY_ENV, "k" * 32)
    out = pseudonym.pseudonymise(pd.Series(["1", None, "1", "2"]), "beneficiario")
    assert out[0] == out[2] != out[3]
    assert pd.isna(out[1])


def test_short_key_refused(monkeypatch):
    monkeypatch.setenv(pseudonym.KEY_ENV, "short")
    with pytest.raises(pseudonym.PseudonymKeyError, match="at least 16"):
        pseudonym.key()


def test_local_key_generated_once_outside_repo(monkeypatch, tmp_path):
    monkeypatch.delenv(pseudonym.KEY_ENV, raising=False)
    monkeypatch.setenv("VIGIA_DATA_DIR", str(tmp_path))
    first = pseudonym.key()
    assert (tmp_path / ".pseudonym_key").exists()
    assert pseudonym.key() == first
