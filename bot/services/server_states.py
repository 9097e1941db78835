"""What a server's stored status allows: the one rule behind the buttons shown and the actions accepted.

The status column holds the panel's values (Linode's status, `offline` stored as `stopped`,
`unknown` when Linode gave none). A server that is on can be stopped or rebooted; one that is off
can be started; one in the middle of something (booting, rebuilding, migrating…) can only be
looked at again until Linode says it is done. Rebuild, resize and delete need it settled.
"""

from __future__ import annotations

from enum import Enum

from bot.errors import UserError


class ServerState(Enum):
    ON = "on"
    OFF = "off"
    BUSY = "busy"
    OTHER = "other"  # error, unknown, anything Linode adds later


ON = frozenset({"running"})
OFF = frozenset({"stopped", "offline"})
BUSY = frozenset({
    "provisioning", "booting", "rebooting", "shutting_down", "rebuilding", "resizing", "migrating", "cloning",
    "restoring", "backing_up", "deleting",
})  # fmt: skip

#: Verbs (as typed after `/cs vps <label>`) each state allows, in the order buttons show them.
ALLOWED: dict[ServerState, tuple[str, ...]] = {
    ServerState.ON: ("stop", "reboot", "rebuild", "resize", "delete"),
    ServerState.OFF: ("start", "rebuild", "resize", "delete"),
    ServerState.BUSY: (),
    ServerState.OTHER: ("delete",),
}
#: What a refusal calls each verb ("web-1 is provisioning, so it cannot be stopped right now").
PARTICIPLES = {
    "start": "started",
    "stop": "stopped",
    "reboot": "rebooted",
    "rebuild": "rebuilt",
    "resize": "resized",
    "delete": "deleted",
}


class NotNow(UserError):
    """That server cannot do that in its current state."""


def state_of(status: str | None) -> ServerState:
    if status in ON:
        return ServerState.ON
    if status in OFF:
        return ServerState.OFF
    if status in BUSY:
        return ServerState.BUSY
    return ServerState.OTHER


def allowed_actions(status: str | None) -> tuple[str, ...]:
    return ALLOWED[state_of(status)]


def require_allowed(label: str, status: str | None, verb: str) -> None:
    """Refuse `verb` (a stale button, a typed command) when the server's state does not allow it."""
    if verb in allowed_actions(status):
        return
    shown = (status or "unknown").replace("_", " ")
    hint = " Refresh it in a moment." if state_of(status) is ServerState.BUSY else ""
    raise NotNow(f"{label} is {shown}, so it cannot be {PARTICIPLES.get(verb, verb)} right now.{hint}")
