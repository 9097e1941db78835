"""Request validation that mirrors the real API's 400s, so the bot's error mapping is exercised.

Rules follow the reference (§2.2). Where Linode documents a rule but not its exact wording, the
reason strings here are our own; the ``field`` values are what callers should branch on.

Password rule (the real strength check is unpublished): 7–128 characters, and at least 11
characters using at least three of lower case, upper case, digits and symbols.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.emulators.linode.fixtures import Catalogue
from bot.emulators.linode.wire import LinodeApiError

LABEL_NOT_UNIQUE = "Label must be unique among your linodes"
WEAK_PASSWORD = "Password does not meet strength requirement"  # noqa: S105 - an error reason
_LABEL_CHARS = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_SSH_KEY_TYPES = (
    "ssh-rsa",
    "ssh-dss",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ssh-ed25519@openssh.com",
)
_MAX_STACKSCRIPT_DATA = 65_535


class Problems:
    """Collects every invalid field of one request; the real API reports them all at once."""

    def __init__(self) -> None:
        self._error: LinodeApiError | None = None

    def add(self, reason: str, field: str | None = None) -> None:
        if self._error is None:
            self._error = LinodeApiError(400, reason, field)
        else:
            self._error.also(reason, field)

    def raise_any(self) -> None:
        if self._error is not None:
            raise self._error


@dataclass
class DeploySpec:
    """The validated, normalised body of a create or rebuild."""

    image: str | None
    root_pass: str | None
    authorized_keys: list[str] = field(default_factory=list)
    stackscript_id: int | None = None
    stackscript_data: dict[str, str] = field(default_factory=dict)
    booted: bool = False
    has_user_data: bool = False


@dataclass
class CreateSpec(DeploySpec):
    type: str = ""
    region: str = ""
    label: str | None = None
    tags: list[str] = field(default_factory=list)
    group: str = ""
    backups_enabled: bool = False
    private_ip: bool = False


def label_problem(label: Any) -> str | None:
    """Why ``label`` breaks Linode's label rules, or None when it is acceptable."""
    if not isinstance(label, str) or not 3 <= len(label) <= 64:
        return "Label must be between 3 and 64 characters"
    if not _LABEL_CHARS.fullmatch(label):
        return "Label must start with a letter and contain only letters, numbers, dashes, underscores and periods"
    if any(pair in label for pair in ("--", "__", "..")):
        return "Label must not contain two dashes, underscores or periods in a row"
    return None


def password_problem(password: Any) -> str | None:
    if not isinstance(password, str) or not 7 <= len(password) <= 128:
        return "root_pass must be between 7 and 128 characters"
    classes = (
        any(c.islower() for c in password)
        + any(c.isupper() for c in password)
        + any(c.isdigit() for c in password)
        + any(not c.isalnum() for c in password)
    )
    return WEAK_PASSWORD if len(password) < 11 or classes < 3 else None


def ssh_key_problem(key: Any) -> str | None:
    """Why ``key`` is not an OpenSSH public key line (type, base64 blob naming that type, comment)."""
    parts = key.split() if isinstance(key, str) else []
    if len(parts) < 2 or parts[0] not in _SSH_KEY_TYPES:
        return (
            "key-type must be ssh-dss, ssh-rsa, ecdsa-sha2-nistp, ssh-ed25519, "
            "sk-ecdsa-sha2-nistp256, or sk-ssh-ed25519"
        )
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return "is not valid base64"
    name = parts[0].encode()
    if not blob.startswith(struct.pack(">I", len(name)) + name):
        return "does not match its key-type"
    return None


def rdns_problem(rdns: Any) -> str | None:
    """A reverse-DNS name must be a fully qualified host name ending in an alphabetic TLD."""
    if rdns is None:
        return None
    if not isinstance(rdns, str) or len(rdns) > 253:
        return "rdns must be a valid domain name"
    labels = rdns.removesuffix(".").split(".")
    valid = len(labels) >= 2 and all(_HOST_LABEL.fullmatch(part) for part in labels)
    if not valid or not re.fullmatch(r"[A-Za-z]{2,63}", labels[-1]):
        return "rdns must be a valid domain name"
    return None


def check_create(body: dict[str, Any], catalogue: Catalogue, label_taken: Callable[[str], bool]) -> CreateSpec:
    """Validate ``POST /linode/instances``; raises LinodeApiError(400) listing every problem."""
    problems = Problems()
    type_id, region = body.get("type"), body.get("region")
    if type_id is None:
        problems.add("type is required", "type")
    elif type_id not in catalogue.types:
        problems.add("A valid plan type by that ID was not found", "type")
    if region is None:
        problems.add("region is required", "region")
    elif region not in catalogue.regions:
        problems.add("region is not valid", "region")
    label = body.get("label")
    if label is not None:
        if (reason := label_problem(label)) is not None:
            problems.add(reason, "label")
        elif label_taken(label):
            problems.add(LABEL_NOT_UNIQUE, "label")
    tags = body.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        problems.add("tags must be a list of non-empty strings", "tags")
    deploy = _check_deploy(body, catalogue, problems, image_required=False)
    problems.raise_any()
    return CreateSpec(
        **vars(deploy),
        type=str(type_id),
        region=str(region),
        label=label,
        tags=list(dict.fromkeys(tags)),
        group=str(body.get("group") or ""),
        backups_enabled=bool(body.get("backups_enabled", False)),
        private_ip=bool(body.get("private_ip", False)),
    )


def check_rebuild(body: dict[str, Any], catalogue: Catalogue) -> DeploySpec:
    """Validate ``POST …/rebuild``: an image and a root password are mandatory here."""
    problems = Problems()
    deploy = _check_deploy(body, catalogue, problems, image_required=True)
    problems.raise_any()
    return deploy


def check_resize(body: dict[str, Any], catalogue: Catalogue, current_type: str) -> str:
    type_id = body.get("type")
    if type_id is None:
        raise LinodeApiError(400, "type is required", "type")
    if type_id not in catalogue.types:
        raise LinodeApiError(400, "A valid plan type by that ID was not found", "type")
    if type_id == current_type:
        raise LinodeApiError(400, "Linode is already running this plan type", "type")
    return str(type_id)


def _check_deploy(
    body: dict[str, Any], catalogue: Catalogue, problems: Problems, *, image_required: bool
) -> DeploySpec:
    image, root_pass = body.get("image"), body.get("root_pass")
    if image is None and image_required:
        problems.add("image is required", "image")
    elif image is not None and image not in catalogue.images:
        problems.add("image is not valid", "image")
    if image is not None or image_required:
        if root_pass is None:
            problems.add("root_pass is required", "root_pass")
        elif (reason := password_problem(root_pass)) is not None:
            problems.add(reason, "root_pass")
    keys = body.get("authorized_keys") or []
    if not isinstance(keys, list):
        problems.add("authorized_keys must be a list", "authorized_keys")
        keys = []
    for number, key in enumerate(keys, start=1):
        if (reason := ssh_key_problem(key)) is not None:
            problems.add(f"SSH Key {number} {reason}", "authorized_keys")
    script_id = body.get("stackscript_id")
    data = body.get("stackscript_data") or {}
    if script_id is not None:
        _check_stackscript(script_id, data, image, catalogue, problems)
    elif "stackscript_data" in body:
        problems.add("stackscript_data requires stackscript_id", "stackscript_data")
    metadata = body.get("metadata")
    booted = body.get("booted", image is not None)
    return DeploySpec(
        image=image,
        root_pass=root_pass,
        authorized_keys=[k for k in keys if isinstance(k, str)],
        stackscript_id=script_id if isinstance(script_id, int) else None,
        stackscript_data=dict(data) if isinstance(data, dict) else {},
        booted=bool(booted) and image is not None,
        has_user_data=isinstance(metadata, dict) and bool(metadata.get("user_data")),
    )


def _check_stackscript(script_id: Any, data: Any, image: Any, catalogue: Catalogue, problems: Problems) -> None:
    script = catalogue.stackscripts.get(script_id) if isinstance(script_id, int) else None
    if script is None:
        problems.add("StackScript not found", "stackscript_id")
        return
    if image is None:
        problems.add("image is required when deploying from a StackScript", "image")
    elif image not in script["images"]:
        problems.add(f"StackScript {script_id} does not support image {image}", "image")
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        problems.add("stackscript_data must be an object of strings", "stackscript_data")
        return
    if len(json.dumps(data)) > _MAX_STACKSCRIPT_DATA:
        problems.add("stackscript_data must be at most 65535 characters", "stackscript_data")
    for udf in script["user_defined_fields"]:
        name, value = udf["name"], data.get(udf["name"])
        if not value:
            if udf.get("default") is None:
                problems.add(f"{name} is required", f"stackscript_data.{name}")
            continue
        choices = udf.get("oneOf")
        if choices and value not in choices.split(","):
            problems.add(f"{name} must be one of {choices}", f"stackscript_data.{name}")
