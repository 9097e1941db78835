"""Modal stacks, Home tabs and the one-shot ``trigger_id``s that open them.

Slack's modal rules are where bots most often break (expired triggers, a fourth pushed view, an
update racing a close), so they are enforced here with Slack's own error codes.
"""

from __future__ import annotations

import copy
import json
import secrets
from dataclasses import dataclass
from typing import Any

from bot.emulators.slack.blockkit import view_problems
from bot.emulators.slack.errors import SlackError, invalid_arguments
from bot.emulators.slack.state import Clock, Identity, Reach

TRIGGER_TTL_SECONDS = 3.0
MAX_STACK = 3
MAX_VIEW_BYTES = 250_000
ViewOwner = tuple[Identity, str]
"""The install a view is published by, and the workspace it is shown in."""

_VIEW_FIELDS = (
    "type",
    "title",
    "submit",
    "close",
    "blocks",
    "private_metadata",
    "callback_id",
    "external_id",
    "clear_on_close",
    "notify_on_close",
)


@dataclass
class _Trigger:
    user_id: str
    issued_at: float
    used: bool = False


class TriggerRegistry:
    """Trigger ids valid for 3 s of the injected clock, each usable once."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._triggers: dict[str, _Trigger] = {}

    def new(self, user_id: str) -> str:
        trigger_id = f"{int(self._clock())}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"
        self._triggers[trigger_id] = _Trigger(user_id, self._clock())
        return trigger_id

    def redeem(self, trigger_id: str | None) -> str:
        """Spend a trigger and return the user it was issued for."""
        trigger = self._triggers.get(trigger_id or "")
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if self._clock() - trigger.issued_at > TRIGGER_TTL_SECONDS:
            raise SlackError("expired_trigger_id")
        trigger.used = True
        return trigger.user_id


def validate_view(view: Any, *, kind: str, strict: bool = True) -> dict[str, Any]:
    """Check a view definition against Slack's limits; return it as a dict."""
    if not isinstance(view, dict):
        raise invalid_arguments("must provide an object [json-pointer:/view]")
    if view.get("type") != kind:
        raise invalid_arguments(f"must be '{kind}' [json-pointer:/view/type]")
    if len(json.dumps(view).encode()) > MAX_VIEW_BYTES:
        raise SlackError("view_too_large")
    if problems := view_problems(view, kind, strict=strict):
        raise invalid_arguments(*problems)
    return view


class ViewStore:
    """Open modals per user (a stack of at most three) and each user's published Home tab."""

    def __init__(self, identity: Identity, clock: Clock) -> None:
        self._identity = identity
        self._clock = clock
        self._serial = 0
        # Slack's view ids are unique for good; a per-emulator prefix keeps ids of a restarted sandbox
        # from meeting the ones a database still remembers (a form is recognised by its view id).
        self._prefix = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(4))
        self.views: dict[str, dict[str, Any]] = {}
        self.stacks: dict[str, list[str]] = {}
        self.home: dict[str, dict[str, Any]] = {}

    def _new_id(self) -> str:
        self._serial += 1
        return f"V0{self._prefix}{self._serial:05d}"

    def _new_hash(self) -> str:
        return f"{int(self._clock())}.{secrets.token_hex(4)}"

    def _render(
        self, definition: dict[str, Any], *, view_id: str, root: str, previous: str | None, owner: ViewOwner | None
    ) -> dict[str, Any]:
        identity, team_id = owner or (self._identity, self._identity.team_id)
        view: dict[str, Any] = {
            "id": view_id,
            "team_id": team_id,
            "type": definition["type"],
            "title": None,
            "submit": None,
            "close": None,
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            "submit_disabled": False,
        }
        view.update({k: copy.deepcopy(definition[k]) for k in _VIEW_FIELDS if k in definition})
        view.update(
            state={"values": {}},
            hash=self._new_hash(),
            root_view_id=root,
            previous_view_id=previous,
            app_id=identity.app_id,
            app_installed_team_id=identity.team_id,
            bot_id=identity.bot_id,
        )
        return view

    def _check_external_id(self, definition: dict[str, Any], *, replacing: str | None = None) -> None:
        external_id = definition.get("external_id")
        if external_id and any(v["external_id"] == external_id and v["id"] != replacing for v in self.views.values()):
            raise SlackError("duplicate_external_id")

    def open(self, user_id: str, definition: dict[str, Any], owner: ViewOwner | None = None) -> dict[str, Any]:
        """Start a new stack for ``user_id``; whatever was open before is gone."""
        self._check_external_id(definition)
        self.clear(user_id)
        view_id = self._new_id()
        view = self._render(definition, view_id=view_id, root=view_id, previous=None, owner=owner)
        self.views[view_id] = view
        self.stacks[user_id] = [view_id]
        return view

    def push(self, user_id: str, definition: dict[str, Any], owner: ViewOwner | None = None) -> dict[str, Any]:
        stack = self.stacks.get(user_id)
        if not stack:
            raise SlackError("not_found")
        if len(stack) >= MAX_STACK:
            raise SlackError("push_limit_reached")
        self._check_external_id(definition)
        view_id = self._new_id()
        view = self._render(definition, view_id=view_id, root=stack[0], previous=stack[-1], owner=owner)
        self.views[view_id] = view
        stack.append(view_id)
        return view

    def find(self, view_id: str | None, external_id: str | None, reach: Reach = None) -> dict[str, Any]:
        """An open modal or a published Home view, by id or by the app's own external id; another
        workspace's views do not exist for the caller."""
        if not view_id and not external_id:
            raise invalid_arguments("must provide either view_id or external_id")
        for view in [*self.views.values(), *self.home.values()]:
            named = (view_id and view["id"] == view_id) or (external_id and view["external_id"] == external_id)
            if named and (reach is None or view["team_id"] in reach):
                return view
        raise SlackError("not_found")

    def update(
        self, view_id: str, definition: dict[str, Any], *, expected_hash: str | None, owner: ViewOwner | None = None
    ) -> dict[str, Any]:
        """Replace a modal or Home view in place; the id stays, the hash rotates."""
        current = self.find(view_id, None)
        if expected_hash and expected_hash != current["hash"]:
            raise SlackError("hash_conflict")
        self._check_external_id(definition, replacing=view_id)
        view = self._render(
            definition,
            view_id=view_id,
            root=current["root_view_id"],
            previous=current["previous_view_id"],
            owner=owner,
        )
        self._store(view)
        return view

    def _store(self, view: dict[str, Any]) -> None:
        if view["id"] in self.views:
            self.views[view["id"]] = view
            return
        for user_id, home in self.home.items():
            if home["id"] == view["id"]:
                self.home[user_id] = view

    def publish(
        self, user_id: str, definition: dict[str, Any], expected_hash: str | None, owner: ViewOwner | None = None
    ) -> dict[str, Any]:
        current = self.home.get(user_id)
        if current is not None and expected_hash and expected_hash != current["hash"]:
            raise SlackError("hash_conflict")
        view_id = current["id"] if current is not None else self._new_id()
        view = self._render(definition, view_id=view_id, root=view_id, previous=None, owner=owner)
        self.home[user_id] = view
        return view

    def close(self, view_id: str) -> None:
        """Close one modal, as a submission ack or the user's Close/Back would."""
        self.views.pop(view_id, None)
        for user_id, stack in list(self.stacks.items()):
            if view_id in stack:
                stack.remove(view_id)
            if not stack:
                del self.stacks[user_id]

    def clear(self, user_id: str) -> None:
        for view_id in self.stacks.pop(user_id, []):
            self.views.pop(view_id, None)

    def stack(self, user_id: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(self.views[v]) for v in self.stacks.get(user_id, [])]
