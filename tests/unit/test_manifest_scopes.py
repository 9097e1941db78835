"""Every Slack Web API method the code calls is covered by a scope in manifest.yml.

The calls are found in the source (`client.chat_postMessage(` → `chat.postMessage`), so a new call
without its scope fails here instead of failing in a workspace with `missing_scope`.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.manifest import render_manifest

ROOT = Path(__file__).parents[2]
SOURCE_DIRS = ("bot", "handlers", "webhooks")
CALL = re.compile(r"\.(auth|chat|conversations|files|reactions|team|users|views)_([A-Za-z0-9_]+)\(")

#: Bot-token scopes each method needs (any one of a tuple suffices); () means no scope needed.
REQUIRED_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "chat.getPermalink": (),
    "conversations.info": ("channels:read", "groups:read"),
    "conversations.open": ("im:write",),
    "conversations.replies": ("channels:history", "groups:history"),
    "files.upload_v2": ("files:write",),  # files.getUploadURLExternal + files.completeUploadExternal
    "reactions.add": ("reactions:write",),
    "team.info": ("team:read",),
    "users.info": ("users:read",),
    "users.lookupByEmail": ("users:read.email",),
    "views.open": (),
    "views.update": (),
    "views.push": (),
    "views.publish": (),
}


def called_methods() -> dict[str, list[str]]:
    """Slack methods called anywhere in the product code (the emulators are not the product)."""
    found: dict[str, list[str]] = {}
    for folder in SOURCE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            if "emulators" in path.parts or "sandbox" in path.parts:
                continue
            for family, name in CALL.findall(path.read_text()):
                found.setdefault(f"{family}.{name}", []).append(str(path.relative_to(ROOT)))
    return found


def test_the_code_calls_slack_methods_at_all() -> None:
    assert {"chat.postMessage", "views.publish", "users.info"} <= set(called_methods())


def test_every_called_method_is_known_and_covered_by_a_manifest_scope() -> None:
    scopes = set(yaml.safe_load(render_manifest())["oauth_config"]["scopes"]["bot"])
    problems = []
    for method, places in sorted(called_methods().items()):
        if method not in REQUIRED_SCOPES:
            problems.append(f"{method} (called in {places[0]}) has no entry in REQUIRED_SCOPES")
        elif REQUIRED_SCOPES[method] and not scopes.intersection(REQUIRED_SCOPES[method]):
            problems.append(f"{method} needs one of {REQUIRED_SCOPES[method]} in manifest.yml")
    assert problems == []


def test_users_read_email_comes_with_users_read() -> None:
    scopes = set(yaml.safe_load(render_manifest())["oauth_config"]["scopes"]["bot"])
    assert "users:read.email" not in scopes or "users:read" in scopes
