"""Runtime settings: every name of the operator contract, read from the environment and `.env`.

Validation collects every problem at once so an operator fixes their configuration in one pass
instead of discovering bad settings one restart at a time.
"""

from __future__ import annotations

import base64
import binascii
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PAYPAL_CERT_HOSTS = (
    "https://api.paypal.com,https://api-m.paypal.com,https://api.sandbox.paypal.com,https://api-m.sandbox.paypal.com"
)

#: How to fix each setting, shown next to its name when it is missing or malformed.
HINTS: dict[str, str] = {
    "DATABASE_URL": "a URL like postgresql://user:pass@host:5432/dbname (unset = embedded PostgreSQL)",
    "SLACK_BOT_TOKEN": "the Bot User OAuth Token from the Slack app's 'OAuth & Permissions' page (xoxb-…)",
    "SLACK_SIGNING_SECRET": "the Signing Secret from the Slack app's 'Basic Information' page",
    "SLACK_CLIENT_ID": "the Client ID from the Slack app's 'Basic Information' page (distributed mode)",
    "SLACK_CLIENT_SECRET": "the Client Secret from the Slack app's 'Basic Information' page (distributed mode)",
    "SLACK_TOKEN_KEY": "32 random bytes as 64 hex digits or base64, e.g. from `openssl rand -hex 32`",
    "SLACK_HOME_TEAM": "the team id (T…) of the reseller's own Slack workspace, which holds triage and admin channels",
    "SLACK_TOKEN_ROTATION_MINUTES": "minutes from 1 to 600: refresh rotating tokens this long before they expire",
    "SLACK_APP_TOKEN": "an app-level token with connections:write (xapp-…), only for Socket Mode",
    "SLACK_API_URL": "the Web API base URL ending in /api/, e.g. https://slack.com/api/",
    "SLACK_COMMAND": "the root slash command, starting with '/', e.g. /cs",
    "PUBLIC_URL": "the bot's external base URL, e.g. https://bot.example.com",
    "PANEL_URL": "the panel's base URL, e.g. https://panel.example.com (unset: no 'Open in panel' buttons)",
    "HOST": "the address to listen on, e.g. 0.0.0.0",
    "PORT": "a TCP port between 1 and 65535",
    "WEB_CONCURRENCY": "how many processes `csbot serve` answers HTTP with, 1 to 16 (e.g. the number of cores)",
    "PAYPAL_MODE": "'sandbox' or 'live'",
    "PAYPAL_API_URL": "a URL like https://api-m.sandbox.paypal.com",
    "PAYPAL_CERT_HOSTS": "comma-separated origins like https://api.paypal.com",
    "PAYPAL_CERT_CA": "the path of a readable PEM file",
    "LINODE_API_URL": "a URL like https://api.linode.com/v4",
    "SSH_CRED_SECRET": "at least 16 characters (the panel's root-password encryption secret)",
    "BOT_SECRET": "at least 32 random characters, e.g. from `openssl rand -hex 32`",
    "BILLING_GRACE_HOURS": "a whole number of hours, 0 or more",
    "SUMMARY_CRON": "a 5-field cron expression, e.g. '0 9 * * *'",
    "TIMEZONE": "an IANA time zone name, e.g. UTC or Europe/Berlin",
    "LOG_LEVEL": "one of DEBUG, INFO, WARNING, ERROR",
    "LOG_FORMAT": "'json' or 'console'",
    "OUTBOX_MAX_ATTEMPTS": "a whole number of attempts, 1 or more",
    "PAYPAL_WEBHOOK_VERIFICATION": "'offline' (verify signatures locally) or 'api' (ask PayPal)",
    "PAYPAL_WEBHOOK_MAX_AGE_SECONDS": "a whole number of seconds from 60 to 86400 (default 900, 15 minutes)",
    "TOPUP_MAX_AMOUNT": "a positive amount with at most two decimals, e.g. 10000",
    "METRICS_TOKEN": "at least 32 characters without spaces, e.g. from `openssl rand -hex 32`",
    "METRICS_HOST": "the address of the metrics listener, e.g. 127.0.0.1 (the default)",
    "METRICS_PORT": "a TCP port between 1 and 65535 other than PORT, for a listener that serves only /metrics",
}


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


class Settings(BaseSettings):
    """Every setting of the runtime contract; names map 1:1 to upper-case environment variables."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        case_sensitive=False,
    )

    database_url: str | None = None
    csbot_data_dir: Path = Path(".csbot")

    #: Distributed mode (OAuth installs into many workspaces) when both are set; see `slack_mode`.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = Field(default=None, validate_default=True)
    #: AES-256-GCM key for the bot tokens stored per installation (`bot.slack.token_crypto`).
    slack_token_key: SecretStr | None = None
    slack_home_team: str | None = None
    slack_token_rotation_minutes: int = Field(default=120, ge=1, le=600)
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_command: str = "/cs"

    public_url: str = "http://localhost:3000"
    #: The panel's base URL for "Open in panel" buttons (see `bot.panel_links`); unset, none are shown.
    panel_url: str | None = None
    host: str = "0.0.0.0"  # noqa: S104 - the contract's default: listen on every interface
    port: int = Field(default=3000, ge=1, le=65535)
    #: Processes answering HTTP on the port (one Python process uses one core); see `bot.serve`.
    web_concurrency: int = Field(default=1, ge=1, le=16)

    paypal_client_id: str | None = None
    paypal_client_secret: SecretStr | None = None
    paypal_webhook_id: str | None = None
    paypal_mode: Literal["sandbox", "live"] = "sandbox"
    paypal_api_url: str | None = None
    paypal_cert_hosts: str = DEFAULT_PAYPAL_CERT_HOSTS
    paypal_cert_ca: Path | None = None
    paypal_webhook_verification: Literal["offline", "api"] = "offline"
    #: How far a webhook's PAYPAL-TRANSMISSION-TIME may be from its arrival, either way (replays).
    paypal_webhook_max_age_seconds: int = Field(default=900, ge=60, le=86400)
    topup_max_amount: Decimal = Field(default=Decimal("10000"), gt=0, max_digits=10, decimal_places=2)

    linode_api_token: SecretStr | None = None
    linode_api_url: str = "https://api.linode.com/v4"

    ssh_cred_secret: SecretStr | None = None
    bot_secret: SecretStr | None = None

    support_channel: str | None = None
    admin_channel: str | None = None

    billing_enabled: bool = True
    billing_grace_hours: int = Field(default=72, ge=0)
    summary_cron: str = "0 9 * * *"
    timezone: str = "UTC"
    scheduler_enabled: bool = True

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] | None = None

    outbox_max_attempts: int = Field(default=8, ge=1)

    #: /metrics is never public: with a token it answers on PORT to `Authorization: Bearer <token>`;
    #: with METRICS_PORT it also answers on its own listener (loopback unless METRICS_HOST says otherwise).
    metrics_token: SecretStr | None = None
    metrics_host: str | None = None
    metrics_port: int | None = Field(default=None, ge=1, le=65535, validate_default=True)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"postgresql", "postgres", "postgresql+asyncpg"} or not parts.hostname:
            raise ValueError("must be a postgresql:// URL with a host")
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _check_bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must start with xoxb-")
        return value

    @field_validator("slack_client_secret")
    @classmethod
    def _check_client_pair(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and not info.data.get("slack_client_id"):
            raise ValueError("is set without SLACK_CLIENT_ID: distributed mode needs both")
        if value is None and info.data.get("slack_client_id"):
            raise ValueError("is required when SLACK_CLIENT_ID is set (distributed mode needs both)")
        return value

    @field_validator("slack_token_key")
    @classmethod
    def _check_token_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and token_key_bytes(value.get_secret_value()) is None:
            raise ValueError("must be 32 bytes written as 64 hex digits or as base64")
        return value

    @field_validator("slack_home_team")
    @classmethod
    def _check_home_team(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"T[A-Z0-9]{2,31}", value):
            raise ValueError("must be a Slack team id like T0123ABCD")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _check_app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must start with xapp-")
        return value

    @field_validator("slack_api_url", "public_url", "linode_api_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not _is_http_url(value):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("paypal_api_url")
    @classmethod
    def _check_optional_url(cls, value: str | None) -> str | None:
        if value and not _is_http_url(value):
            raise ValueError("must be an http(s) URL")
        return value or None

    @field_validator("panel_url")
    @classmethod
    def _check_panel_url(cls, value: str | None) -> str | None:
        """A base for links in buttons: http(s), no query or fragment, short enough for Slack's 3000."""
        if not value:
            return None
        parts = urlsplit(value)
        if not _is_http_url(value) or parts.query or parts.fragment or len(value) > 1000:
            raise ValueError("must be an http(s) base URL without ?query or #fragment")
        return value.rstrip("/")

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("slack_command")
    @classmethod
    def _check_command(cls, value: str) -> str:
        if not value.startswith("/") or len(value) > 32 or " " in value:
            raise ValueError("must start with '/', have no spaces and be at most 32 characters")
        return value

    @field_validator("paypal_cert_hosts")
    @classmethod
    def _check_cert_hosts(cls, value: str) -> str:
        for origin in _split_csv(value):
            parts = urlsplit(origin)
            if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path not in {"", "/"}:
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
        return value

    @field_validator("paypal_cert_ca")
    @classmethod
    def _check_ca(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file {value} does not exist")
        return value

    @field_validator("ssh_cred_secret")
    @classmethod
    def _check_ssh_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("is shorter than 16 characters")
        return value

    @field_validator("bot_secret")
    @classmethod
    def _check_bot_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("is shorter than 32 characters")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _check_metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        token = value.get_secret_value() if value is not None else ""
        if value is not None and (len(token) < 32 or not token.isascii() or any(c.isspace() for c in token)):
            raise ValueError("must be at least 32 ASCII characters without spaces")
        return value

    @field_validator("metrics_port")
    @classmethod
    def _check_metrics_port(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None and info.data.get("metrics_host"):
            raise ValueError("is required when METRICS_HOST is set (METRICS_HOST alone opens nothing)")
        if value is not None and value == info.data.get("port"):
            raise ValueError("must differ from PORT: the metrics listener is a separate one")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("summary_cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger  # noqa: PLC0415 - heavy import, only here

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"invalid cron expression {value!r}") from exc
        return value

    # -- derived values -------------------------------------------------------------------------

    @property
    def cert_hosts(self) -> tuple[str, ...]:
        return tuple(origin.rstrip("/") for origin in _split_csv(self.paypal_cert_hosts))

    @property
    def paypal_base_url(self) -> str:
        if self.paypal_api_url:
            return self.paypal_api_url.rstrip("/")
        return "https://api-m.paypal.com" if self.paypal_mode == "live" else "https://api-m.sandbox.paypal.com"

    @property
    def metrics_listener(self) -> tuple[str, int] | None:
        """(host, port) of the separate /metrics listener, or None when there is none."""
        return (self.metrics_host or "127.0.0.1", self.metrics_port) if self.metrics_port else None

    @property
    def has_paypal_credentials(self) -> bool:
        return bool(self.paypal_client_id and self.paypal_client_secret)

    @property
    def slack_mode(self) -> Literal["distributed", "single"] | None:
        """Distributed (OAuth, a token per installed workspace) when the client id and secret are set;
        single-workspace with SLACK_BOT_TOKEN otherwise; None when neither is configured."""
        if self.slack_client_id and self.slack_client_secret is not None:
            return "distributed"
        return "single" if self.slack_bot_token is not None else None

    @property
    def has_slack_credentials(self) -> bool:
        return self.slack_mode is not None and self.slack_signing_secret is not None

    @property
    def slack_authorize_url(self) -> str:
        """Slack's consent page, beside the Web API (`https://slack.com/api/` → `…/oauth/v2/authorize`),
        so an emulator serves it without a setting of its own."""
        parts = urlsplit(self.slack_api_url)
        base = parts.path.rstrip("/").removesuffix("/api")
        return f"{parts.scheme}://{parts.netloc}{base}/oauth/v2/authorize"

    def serve_problems(self) -> list[SettingProblem]:
        """What `csbot serve` cannot start without, for the mode the settings choose."""
        problems = []
        if self.slack_mode is None and not self.slack_client_id:
            problems.append(SettingProblem("SLACK_BOT_TOKEN", MISSING_SLACK_CREDENTIALS))
        if self.slack_client_id and self.slack_token_key is None:
            problems.append(SettingProblem("SLACK_TOKEN_KEY", "is required in distributed mode (SLACK_CLIENT_ID set)"))
        for name, value in (("SLACK_SIGNING_SECRET", self.slack_signing_secret), ("BOT_SECRET", self.bot_secret)):
            if value is None:
                problems.append(SettingProblem(name, "is required but not set"))
        return problems

    def secret_values(self) -> list[str]:
        """Plain values of every secret, so log redaction can mask them wherever they appear."""
        secrets = [
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.slack_client_secret,
            self.slack_token_key,
            self.paypal_client_secret,
            self.linode_api_token,
            self.ssh_cred_secret,
            self.bot_secret,
            self.metrics_token,
        ]
        return [s.get_secret_value() for s in secrets if s is not None and s.get_secret_value()]


MISSING_SLACK_CREDENTIALS = (
    "is required but not set (or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install into many workspaces)"
)


def token_key_bytes(value: str) -> bytes | None:
    """The 32 key bytes SLACK_TOKEN_KEY spells (64 hex digits, or base64), or None when it spells none."""
    text = value.strip()
    if re.fullmatch(r"[0-9a-fA-F]{64}", text):
        return bytes.fromhex(text)
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_" if "-" in text or "_" in text else None)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == 32 else None


def _split_csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


@dataclass(frozen=True)
class SettingProblem:
    """One bad setting: its environment name and what is wrong with it."""

    name: str
    problem: str

    def describe(self) -> str:
        hint = HINTS.get(self.name)
        return f"  - {self.name}: {self.problem}" + (f" (expected {hint})" if hint else "")


class SettingsError(Exception):
    """Raised with every bad setting at once; its message is what the operator sees."""

    def __init__(self, problems: Iterable[SettingProblem]) -> None:
        self.problems = tuple(problems)
        lines = [p.describe() for p in self.problems]
        super().__init__(
            "Configuration problems (set them in the environment or in .env; see .env.example):\n" + "\n".join(lines)
        )


def _problems_from(error: ValidationError) -> list[SettingProblem]:
    problems: list[SettingProblem] = []
    for item in error.errors():
        name = str(item["loc"][0]).upper() if item["loc"] else "SETTINGS"
        if item["type"] == "missing":
            message = "is required but not set"
        else:
            message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(SettingProblem(name, message))
    return problems


def load_settings(*, for_serve: bool = False, env_file: str | Path | None = ".env") -> Settings:
    """Load and validate settings, raising `SettingsError` that names every bad setting (for `serve`,
    also every setting its Slack mode needs: a bot token, or the OAuth client and the token key)."""
    try:
        settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as error:
        problems = _problems_from(error)
        if for_serve:
            problems += _serve_problems_despite(problems, env_file)
        raise SettingsError(problems) from None
    problems = settings.serve_problems() if for_serve else []
    if problems:
        raise SettingsError(problems)
    return settings


def _serve_problems_despite(problems: list[SettingProblem], env_file: str | Path | None) -> list[SettingProblem]:
    """Serve's missing settings, judged with the malformed ones left out, so one pass names them all."""
    named = {p.name.lower() for p in problems}
    raw = {name: Settings.model_fields[name].get_default() for name in named if name in Settings.model_fields}
    try:
        settings = _PairsUnchecked(_env_file=env_file, **raw)  # type: ignore[call-arg]
    except ValidationError:
        return []
    return [p for p in settings.serve_problems() if p.name.lower() not in named]


class _PairsUnchecked(Settings):
    """Settings whose client id/secret pair was already reported: judged without that check again."""

    @field_validator("slack_client_secret")
    @classmethod
    def _check_client_pair(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        return value
