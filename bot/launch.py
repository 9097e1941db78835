"""`make run`: serve Slack when it is configured (one workspace or many), else open the sandbox, and say why.

A configuration error is never hidden behind the sandbox: with Slack credentials configured the
operator means to serve, so a bad setting stops here with the settings error. Without them the
sandbox opens (it reads none of these settings), after printing any error for later.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from bot.settings import SettingsError, load_settings

SLACK_CREDENTIALS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
EXIT_CONFIG = 2


@dataclass(frozen=True)
class Choice:
    """What `make run` does: the `csbot` arguments to run (None: stop) and what to tell the operator."""

    command: tuple[str, ...] | None
    message: str


def configured(names: tuple[str, ...], env_file: Path) -> list[str]:
    """Which of `names` have a non-empty value in the environment or in `env_file` (as settings read them)."""
    from_file = {key.upper(): value for key, value in dotenv_values(env_file).items()} if env_file.is_file() else {}
    from_env = {key.upper(): value for key, value in os.environ.items()}
    return [name for name in names if from_env.get(name) or from_file.get(name)]


def choose(env_file: Path = Path(".env")) -> Choice:
    """Serve when Slack credentials are configured and every setting is valid; otherwise explain."""
    slack = configured(SLACK_CREDENTIALS, env_file)
    if slack:
        try:
            load_settings(for_serve=True, env_file=env_file)
        except SettingsError as error:
            return Choice(
                None,
                f"{error}\n\n{' and '.join(slack)} {'is' if len(slack) == 1 else 'are'} set, so `make run` means to "
                "serve your Slack workspace: it stops here instead of opening the sandbox. Fix the settings above "
                "and run it again (or remove the Slack credentials from .env to try the sandbox).",
            )
        return Choice(("serve", "--migrate"), "Slack credentials are configured: migrating, then `csbot serve`.")
    try:
        load_settings(env_file=env_file)
    except SettingsError as error:
        return Choice(
            ("sandbox",),
            f"{error}\n\nNo Slack credentials are configured, so `make run` opens the sandbox, which uses none of "
            "these settings. Fix them before you serve your own workspace.",
        )
    return Choice(
        ("sandbox",),
        "No Slack credentials (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET) are configured: opening the sandbox. "
        "Set both in .env to serve your own workspace, or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (with "
        "SLACK_SIGNING_SECRET and SLACK_TOKEN_KEY) to install into many (docs/slack-setup.md).",
    )


def main() -> int:
    choice = choose()
    print(f"make run: {choice.message}", file=sys.stderr, flush=True)
    if choice.command is None:
        return EXIT_CONFIG
    os.execv(sys.executable, [sys.executable, "-m", "bot.cli", *choice.command])  # noqa: S606 - our own CLI
    return 0  # not reached: execv replaces this process


if __name__ == "__main__":
    raise SystemExit(main())
