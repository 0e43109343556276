from __future__ import annotations

from pathlib import Path

import pytest

from omnisync.config import load_config, parse_duration
from omnisync.yamlsource import ConfigFileError

BASE = """\
locations:
  - {code: WH}
channels:
  web:
    connector: fake
    sources: [WH]
"""


@pytest.mark.parametrize(
    ("raw", "seconds"), [("90s", 90), ("5m", 300), ("1h", 3600), ("1d", 86400), (12, 12), ("250ms", 0.25)]
)
def test_durations(raw: object, seconds: float) -> None:
    assert parse_duration(raw) == seconds


def test_bad_duration_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(BASE + "    schedule: {pull_every: soon}\n")
    with pytest.raises(ConfigFileError) as info:
        load_config(path, env={})
    assert "c.yaml:7: channels.web.schedule.pull_every" in str(info.value)


def test_unknown_key_and_duplicate_key(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(BASE + "    colour: blue\n")
    with pytest.raises(ConfigFileError, match=r"c.yaml:7: channels.web.colour: unknown key"):
        load_config(path, env={})
    path.write_text(BASE + "locations: []\n")
    with pytest.raises(ConfigFileError, match="duplicate key"):
        load_config(path, env={})


def test_unknown_source_location(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(BASE.replace("sources: [WH]", "sources: [NOPE]"))
    with pytest.raises(ConfigFileError, match="NOPE"):
        load_config(path, env={})


def test_env_interpolation_and_default(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(BASE + "    settings: {token: '${TOK}', region: '${REGION:-eu}'}\n")
    loaded = load_config(path, env={"TOK": "abc123"})
    assert loaded.config.channels["web"].settings == {"token": "abc123", "region": "eu"}
    assert ("channels", "web", "settings", "token") in loaded.doc.from_env


def test_relative_sqlite_path_is_relative_to_the_config(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("ledger: {url: 'sqlite:///data/l.db'}\n" + BASE)
    assert load_config(path, env={}).ledger_url() == f"sqlite:///{tmp_path / 'data/l.db'}"
