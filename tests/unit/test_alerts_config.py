"""The ``alerts:`` section: validated like the rest of the file, secrets only from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnisync.alerts.settings import EmailSettings, SlackSettings, WebhookSettings
from omnisync.config import load_config
from omnisync.yamlsource import ConfigFileError

BASE = """\
locations:
  - {code: WH}
channels:
  web:
    connector: fake
    sources: [WH]
alerts:
  every: 30s
  failing_for: 5m
  ignore: [out_of_stock]
  reorder_points: {MUG: 5}
  notifiers:
"""

HOOK = """\
    ops:
      type: webhook
      url: https://hooks.example.com/omnisync
      secret: ${HOOK_SECRET}
"""
SLACK = """\
    team:
      type: slack
      url: ${SLACK_URL}
      conditions: [channel_failing, oversold]
"""
MAIL = """\
    mail:
      type: email
      host: smtp.example.com
      from: omnisync@example.com
      to: [ops@example.com]
      starttls: true
      username: omnisync
      password: ${SMTP_PASSWORD}
"""
ENV = {
    "HOOK_SECRET": "s3cret-hook",
    "SLACK_URL": "https://hooks.slack.com/services/T/B/X",
    "SMTP_PASSWORD": "pw-1234",
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_a_full_alerts_section_loads(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, BASE + HOOK + SLACK + MAIL), env=ENV)
    alerts = loaded.config.alerts
    assert alerts is not None
    assert alerts.every == 30
    assert alerts.failing_for == 300
    assert alerts.behind_for == 900
    assert "out_of_stock" not in alerts.watched()
    assert "oversold" in alerts.watched()
    hook = loaded.notifier_settings("ops")
    assert isinstance(hook, WebhookSettings)
    assert hook.secret.get_secret_value() == "s3cret-hook"
    assert hook.retries == 3
    assert hook.timeout == 10
    slack = loaded.notifier_settings("team")
    assert isinstance(slack, SlackSettings)
    assert slack.conditions == ["channel_failing", "oversold"]
    mail = loaded.notifier_settings("mail")
    assert isinstance(mail, EmailSettings)
    assert mail.sender == "omnisync@example.com"
    assert mail.port == 587


@pytest.mark.parametrize(
    ("extra", "where", "words"),
    [
        ("      colour: red\n", "c.yaml:17: alerts.notifiers.ops.colour", "unknown key"),
        ("      retries: -1\n", "c.yaml:17: alerts.notifiers.ops.retries", "must be ≥ 0"),
        ("      timeout: soon\n", "c.yaml:17: alerts.notifiers.ops.timeout", "not a duration"),
    ],
)
def test_a_bad_notifier_key_names_file_line_and_key_path(
    tmp_path: Path, extra: str, where: str, words: str
) -> None:
    with pytest.raises(ConfigFileError) as info:
        load_config(write(tmp_path, BASE + HOOK + extra), env=ENV)
    assert where in str(info.value)
    assert words in str(info.value)


def test_bad_alert_keys_name_their_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match=r"c.yaml:10: alerts.ignore.0"):
        load_config(write(tmp_path, BASE.replace("[out_of_stock]", "[sold_out]") + HOOK), env=ENV)
    with pytest.raises(ConfigFileError, match=r"c.yaml:14: alerts.notifiers.ops.type"):
        load_config(write(tmp_path, BASE + HOOK.replace("type: webhook", "type: pager")), env=ENV)


def test_a_secret_written_in_the_file_is_refused(tmp_path: Path) -> None:
    text = BASE + HOOK.replace("${HOOK_SECRET}", "plain-text-secret")
    with pytest.raises(ConfigFileError, match=r"c.yaml:\d+: alerts.notifiers.ops.secret: a secret must come"):
        load_config(write(tmp_path, text), env=ENV)


def test_a_login_without_tls_is_refused(tmp_path: Path) -> None:
    text = BASE + MAIL.replace("      starttls: true\n", "")
    with pytest.raises(ConfigFileError, match="a login needs starttls or ssl"):
        load_config(write(tmp_path, text), env=ENV)


def test_an_unset_secret_fails_only_when_the_notifier_is_about_to_send(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + HOOK)
    offline = load_config(path, env={}, offline=True)
    assert offline.config.alerts is not None  # status, plan, validate: no error
    loaded = load_config(path, env={})
    with pytest.raises(
        ConfigFileError, match=r"alerts.notifiers.ops.secret: environment variable HOOK_SECRET"
    ):
        loaded.notifier_settings("ops")
