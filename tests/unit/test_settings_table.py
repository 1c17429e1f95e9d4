"""Every setting is declared once (store/settings.py), and the README's
settings table is the one generated from the declarations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from contractledger.runtime.settings import RETIRED_SETTINGS
from contractledger.store.errors import StoreConfigurationError
from contractledger.store.settings import DECLARED, TABLE_BEGINS, TABLE_ENDS, Settings, settings_table, with_settings_table

ROOT = Path(__file__).resolve().parents[2]
SOURCE_FOLDERS = ("domain", "store", "projections", "sync", "http", "runtime")


def test_the_readme_settings_table_is_the_one_generated_from_the_declarations() -> None:
    readme = (ROOT / "README.md").read_text()
    assert TABLE_BEGINS in readme and TABLE_ENDS in readme
    assert readme == with_settings_table(readme), "run: python -m contractledger.store.settings README.md"


def test_a_changed_declaration_makes_the_readme_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text()
    from contractledger.store import settings

    changed = settings.DECLARED[0].__class__(**{**settings.DECLARED[0].__dict__, "default": "`elsewhere`"})
    monkeypatch.setattr(settings, "DECLARED", (changed, *settings.DECLARED[1:]))
    assert with_settings_table(readme) != readme


def test_every_setting_the_code_names_is_declared() -> None:
    declared = {setting.name for setting in DECLARED}
    patterns = [re.compile(re.escape(name).replace(re.escape("<PEER>"), "[A-Z0-9_]+") + "$")
                for name in declared if "<PEER>" in name]
    named = set()
    for folder in SOURCE_FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            named |= set(re.findall(r"\bCONTRACTLEDGER_[A-Z][A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    undeclared = {
        name for name in named - declared - set(RETIRED_SETTINGS)
        if not any(pattern.match(name) for pattern in patterns)
    }
    assert undeclared == set()


def test_each_row_has_a_type_a_default_and_a_meaning() -> None:
    assert len({setting.name for setting in DECLARED}) == len(DECLARED)
    for setting in DECLARED:
        assert setting.kind and setting.default and setting.meaning, setting.name
        assert "|" not in setting.kind + setting.default + setting.meaning
    assert settings_table().count("\n") == len(DECLARED) + 2


def test_unset_settings_read_as_their_defaults() -> None:
    found = Settings.read({})
    assert (found.wait_bound, found.ready_max_lag, found.log_level, found.bind) == (5.0, 100, "INFO", "127.0.0.1:8000")
    assert (found.sync_connect_timeout, found.sync_read_timeout, found.sync_plain_http_hosts) == (5.0, 10.0, frozenset())
    assert found.persistence_module == "contractledger.store.sqlite" and found.tamper_evidence is True
    assert found.postgres is None and found.threads == 4


@pytest.mark.parametrize("name,given", [
    ("CONTRACTLEDGER_WAIT_BOUND", "abc"), ("CONTRACTLEDGER_WAIT_BOUND", "61"), ("CONTRACTLEDGER_READY_MAX_LAG", "1e3"),
    ("CONTRACTLEDGER_LOG_LEVEL", "loud"), ("CONTRACTLEDGER_WORKERS", "0"), ("CONTRACTLEDGER_METRICS_DIR", "/no/such"),
    ("CONTRACTLEDGER_SYNC_CONNECT_TIMEOUT", "inf"), ("CONTRACTLEDGER_TAMPER_EVIDENCE", "perhaps"),
    ("CONTRACTLEDGER_THREADS", "0"), ("CONTRACTLEDGER_THREADS", "65"),
])
def test_a_bad_value_is_refused_in_one_sentence_naming_the_setting(name: str, given: str) -> None:
    with pytest.raises(StoreConfigurationError) as refused:
        Settings.read({name: given})
    assert refused.value.setting == name
    assert str(refused.value).startswith(f"{name}={given!r} ") and str(refused.value).count("\n") == 0


def test_a_bad_postgres_setting_is_refused_by_the_store_reader_in_one_sentence() -> None:
    env = {"PERSISTENCE_MODULE": "contractledger.store.postgres", "POSTGRES_HOST": "h", "POSTGRES_DBNAME": "d",
           "POSTGRES_USER": "u", "POSTGRES_PASSWORD": "p", "POSTGRES_PORT": "abc"}
    with pytest.raises(StoreConfigurationError, match="^POSTGRES_PORT='abc' is not valid"):
        Settings.read(env)
    assert Settings.read({**env, "POSTGRES_PORT": "6543"}).postgres.port == 6543


def test_the_tables_postgres_defaults_are_the_ones_the_store_reader_takes() -> None:
    from contractledger.store.settings import POSTGRES_SETTINGS

    found = Settings.read({"PERSISTENCE_MODULE": "contractledger.store.postgres", "POSTGRES_HOST": "h",
                           "POSTGRES_DBNAME": "d", "POSTGRES_USER": "u", "POSTGRES_PASSWORD": "p"}).postgres
    compared = 0
    for setting in POSTGRES_SETTINGS:
        default = re.match(r"^`([^`]+)`", setting.default)
        if default is None:
            continue
        value = getattr(found, setting.name.removeprefix("POSTGRES_").lower())
        assert str(value) in (default[1], {"no": "False", "yes": "True"}.get(default[1])) or float(value) == float(default[1]), setting.name
        compared += 1
    assert compared == 10
