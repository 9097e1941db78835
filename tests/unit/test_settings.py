"""Settings: every contract name is read, and every bad value is named in one message."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import HINTS, Settings, SettingsError, load_settings

CONTRACT_NAMES = [
    "DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL",
    "SLACK_COMMAND", "PUBLIC_URL", "HOST", "PORT", "PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET",
    "PAYPAL_WEBHOOK_ID", "PAYPAL_MODE", "PAYPAL_API_URL", "PAYPAL_CERT_HOSTS", "PAYPAL_CERT_CA",
    "LINODE_API_TOKEN", "LINODE_API_URL", "SSH_CRED_SECRET", "BOT_SECRET", "SUPPORT_CHANNEL",
    "ADMIN_CHANNEL", "BILLING_ENABLED", "BILLING_GRACE_HOURS", "SUMMARY_CRON", "TIMEZONE",
    "SCHEDULER_ENABLED", "LOG_LEVEL", "LOG_FORMAT", "CSBOT_DATA_DIR",
    "METRICS_TOKEN", "METRICS_HOST", "METRICS_PORT", "PANEL_URL",
    "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_HOME_TEAM", "SLACK_TOKEN_KEY",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONTRACT_NAMES:
        monkeypatch.delenv(name, raising=False)


def test_every_contract_name_is_a_setting() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    assert set(CONTRACT_NAMES) <= fields


def test_env_example_documents_every_contract_name() -> None:
    example = (Path(__file__).parents[2] / ".env.example").read_text()
    missing = [name for name in CONTRACT_NAMES if f"{name}=" not in example]
    assert missing == []


def test_serve_without_credentials_names_each_missing_one() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(for_serve=True, env_file=None)
    names = {p.name for p in caught.value.problems}
    assert names == {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "BOT_SECRET"}
    assert "Bot User OAuth Token" in str(caught.value)


def test_every_malformed_value_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = {
        "PORT": "eighty",
        "PAYPAL_MODE": "production-ish",
        "PUBLIC_URL": "not a url",
        "SLACK_BOT_TOKEN": "xoxp-user-token",
        "SLACK_SIGNING_SECRET": "x",
        "TIMEZONE": "Mars/Olympus",
        "SUMMARY_CRON": "every day",
        "LOG_FORMAT": "xml",
        "DATABASE_URL": "mysql://localhost/db",
        "BOT_SECRET": "short",
        "PAYPAL_CERT_HOSTS": "https://api.paypal.com/some/path",
    }
    for name, value in bad.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(for_serve=True, env_file=None)
    named = {p.name for p in caught.value.problems}
    assert named == set(bad) - {"SLACK_SIGNING_SECRET"}  # BOT_SECRET is too short, so still named
    message = str(caught.value)
    for name in named:
        assert name in message
    assert message.count("\n  - ") == len(named)  # one line per bad setting


def test_valid_environment_loads_with_derived_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    monkeypatch.setenv("BOT_SECRET", "b" * 32)
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("PAYPAL_CERT_HOSTS", "http://127.0.0.1:8080, https://api.paypal.com")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    settings = load_settings(for_serve=True, env_file=None)
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.cert_hosts == ("http://127.0.0.1:8080", "https://api.paypal.com")
    assert settings.log_level == "DEBUG"
    assert settings.has_slack_credentials


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "SLACK_BOT_TOKEN=xoxb-from-file\nSLACK_SIGNING_SECRET=s3cret\nBOT_SECRET=" + "k" * 40 + "\nPORT=4000\n"
    )
    settings = load_settings(for_serve=True, env_file=env_file)
    assert settings.port == 4000


def test_every_hint_names_a_real_setting() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    assert set(HINTS) <= fields


@pytest.mark.parametrize(
    ("env", "named", "says"),
    [
        ({"METRICS_TOKEN": "too-short"}, "METRICS_TOKEN", "at least 32"),
        ({"METRICS_TOKEN": "spaces in a token are not one " * 2}, "METRICS_TOKEN", "without spaces"),
        ({"METRICS_HOST": "10.0.0.5"}, "METRICS_PORT", "required when METRICS_HOST is set"),
        ({"METRICS_PORT": "3000"}, "METRICS_PORT", "must differ from PORT"),
        ({"PORT": "8080", "METRICS_PORT": "8080"}, "METRICS_PORT", "must differ from PORT"),
        ({"METRICS_PORT": "70000"}, "METRICS_PORT", "65535"),
    ],
)
def test_metrics_settings_that_would_expose_or_lose_metrics_are_refused(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str, says: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    assert [p.name for p in caught.value.problems] == [named] and says in str(caught.value)


def test_metrics_listener_is_on_loopback_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(env_file=None).metrics_listener is None
    monkeypatch.setenv("METRICS_PORT", "9100")
    assert load_settings(env_file=None).metrics_listener == ("127.0.0.1", 9100)
    monkeypatch.setenv("METRICS_HOST", "10.0.0.5")
    monkeypatch.setenv("METRICS_TOKEN", "t" * 32)
    settings = load_settings(env_file=None)
    assert settings.metrics_listener == ("10.0.0.5", 9100) and "t" * 32 in settings.secret_values()


def test_paypal_webhook_max_age_defaults_to_15_minutes_and_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).paypal_webhook_max_age_seconds == 900  # type: ignore[call-arg]
    monkeypatch.setenv("PAYPAL_WEBHOOK_MAX_AGE_SECONDS", "120")
    assert load_settings(env_file=None).paypal_webhook_max_age_seconds == 120
    for bad in ("0", "59", "86401", "fifteen minutes", "-900"):
        monkeypatch.setenv("PAYPAL_WEBHOOK_MAX_AGE_SECONDS", bad)
        with pytest.raises(SettingsError) as caught:
            load_settings(env_file=None)
        assert {p.name for p in caught.value.problems} == {"PAYPAL_WEBHOOK_MAX_AGE_SECONDS"}
        assert "60 to 86400" in str(caught.value)


def test_panel_url_is_optional_and_must_be_a_plain_http_base(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(env_file=None).panel_url is None  # unset: no "Open in panel" buttons
    monkeypatch.setenv("PANEL_URL", "https://panel.example.com/")
    assert load_settings(env_file=None).panel_url == "https://panel.example.com"
    for bad in ("panel.example.com", "ftp://panel.example.com", "https://panel.example.com/?next=x"):
        monkeypatch.setenv("PANEL_URL", bad)
        with pytest.raises(SettingsError) as caught:
            load_settings(env_file=None)
        assert {p.name for p in caught.value.problems} == {"PANEL_URL"}
        assert "panel's base URL" in str(caught.value)


def test_distributed_mode_needs_the_client_pair_and_the_token_key_not_a_bot_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_CLIENT_ID", "1234.5678")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    monkeypatch.setenv("BOT_SECRET", "b" * 32)
    with pytest.raises(SettingsError) as caught:
        load_settings(for_serve=True, env_file=None)
    assert {p.name for p in caught.value.problems} == {"SLACK_CLIENT_SECRET", "SLACK_TOKEN_KEY"}
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret")
    monkeypatch.setenv("SLACK_TOKEN_KEY", "ab" * 32)
    settings = load_settings(for_serve=True, env_file=None)
    assert settings.slack_mode == "distributed" and settings.has_slack_credentials
    assert "client-secret" in settings.secret_values() and "ab" * 32 in settings.secret_values()


@pytest.mark.parametrize("key", ["ab" * 16, "not a key", "A" * 44])
def test_a_token_key_that_is_not_32_bytes_is_named_with_its_hint(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setenv("SLACK_TOKEN_KEY", key)
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    assert [p.name for p in caught.value.problems] == ["SLACK_TOKEN_KEY"]
    assert "openssl rand -hex 32" in str(caught.value)


def test_a_base64_token_key_and_a_home_team_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_TOKEN_KEY", "q" * 43 + "=")
    monkeypatch.setenv("SLACK_HOME_TEAM", "T0HOME")
    settings = load_settings(env_file=None)
    assert settings.slack_home_team == "T0HOME" and settings.slack_mode is None


def test_the_authorize_url_sits_beside_the_web_api(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).slack_authorize_url == "https://slack.com/oauth/v2/authorize"  # type: ignore[call-arg]
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9000/api/")
    assert load_settings(env_file=None).slack_authorize_url == "http://127.0.0.1:9000/oauth/v2/authorize"
