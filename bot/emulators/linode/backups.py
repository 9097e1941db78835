"""The Backup service of one instance: enable/cancel, the schedule, automatic backups, snapshots and
their state machine, and restores.

Linode documents the rules (backups must be enabled to snapshot; one snapshot is kept, a new one
replaces it; only ``successful`` backups restore, within the region; backups cannot be reactivated
within 24 hours of cancelling, which the panel matches on the reason's text) but not every reason's
wording: where it does not, the reasons here are our own and callers branch on status and ``field``.

A snapshot's status is derived from the clock when read (``pending`` for the first tenth of its run,
then ``running``, then ``successful``), like events, so a fake clock fully controls what is seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.emulators.linode.wire import api_time, bad_request, not_found

REACTIVATE_WAIT = 24 * 3600.0
WAIT_BEFORE_REACTIVATING = "Please wait 24 hours before reactivating backups for this Linode."
NOT_ENABLED = "Backups are not enabled for this Linode."
DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
WINDOWS = tuple(f"W{hour}" for hour in range(0, 24, 2))
SCHEDULING = "Scheduling"  # what Linode shows until it has chosen a day or window itself


@dataclass
class Backup:
    id: int
    label: str | None
    type: str  # "auto" or "snapshot"
    region: str
    created_at: float
    finish_at: float
    disk_mb: int
    failed: bool = False

    def status(self, now: float) -> str:
        if self.failed:
            return "failed"
        if now >= self.finish_at:
            return "successful"
        return "pending" if now < self.created_at + (self.finish_at - self.created_at) / 10 else "running"

    def to_api(self, now: float) -> dict[str, Any]:
        status = self.status(now)
        done = status == "successful"
        return {
            "id": self.id,
            "label": self.label,
            "status": status,
            "type": self.type,
            "region": self.region,
            "created": api_time(self.created_at),
            "updated": api_time(min(now, self.finish_at)),
            "finished": api_time(self.finish_at) if done else None,
            "configs": ["My Debian 12 Disk Profile"],
            "disks": [
                {"label": "Debian 12 Disk", "size": self.disk_mb, "filesystem": "ext4"},
                {"label": "512 MB Swap Image", "size": 0, "filesystem": "swap"},
            ],
            "available": done,
        }


@dataclass
class BackupService:
    """What Linode keeps per instance for backups."""

    enabled: bool = False
    day: str | None = None
    window: str | None = None
    cancelled_at: float | None = None
    automatic: list[Backup] = field(default_factory=list)
    snapshot: Backup | None = None  # the newest snapshot: in progress or current

    def enable(self, now: float) -> None:
        if self.enabled:
            return
        if self.cancelled_at is not None and now - self.cancelled_at < REACTIVATE_WAIT:
            raise bad_request(WAIT_BEFORE_REACTIVATING)
        self.enabled = True
        self.day = self.window = SCHEDULING

    def cancel(self) -> None:
        """Cancelling deletes every backup of the instance."""
        if not self.enabled:
            raise bad_request(NOT_ENABLED)
        self.enabled, self.day, self.window = False, None, None
        self.automatic.clear()
        self.snapshot = None

    def cancelled(self, now: float) -> None:
        self.cancelled_at = now

    def set_schedule(self, schedule: Any) -> None:
        """``PUT /linode/instances/{id}`` with ``backups.schedule``: a known day and window (or null)."""
        if not isinstance(schedule, dict):
            raise bad_request("schedule must be an object", "backups.schedule")
        if "day" in schedule:
            day = schedule["day"]
            if day not in (None, SCHEDULING, *DAYS):
                raise bad_request("day must be a day of the week", "backups.schedule.day")
            self.day = day or SCHEDULING
        if "window" in schedule:
            window = schedule["window"]
            if window not in (None, SCHEDULING, *WINDOWS):
                raise bad_request("window must be one of W0, W2 … W22", "backups.schedule.window")
            self.window = window or SCHEDULING

    def all(self) -> list[Backup]:
        return [*self.automatic, *([self.snapshot] if self.snapshot else [])]

    def find(self, backup_id: int) -> Backup:
        for backup in self.all():
            if backup.id == backup_id:
                return backup
        raise not_found()

    def busy(self, now: float) -> bool:
        return any(b.status(now) in ("pending", "running") for b in self.all())

    def last_successful(self, now: float) -> str | None:
        done = [b.finish_at for b in self.all() if b.status(now) == "successful"]
        return api_time(max(done)) if done else None

    def listing(self, now: float) -> dict[str, Any]:
        """``GET …/backups``: automatic backups, and the current and in-progress snapshot."""
        snapshot = self.snapshot
        in_progress = snapshot is not None and snapshot.status(now) in ("pending", "running")
        return {
            "automatic": [b.to_api(now) for b in self.automatic],
            "snapshot": {
                "current": snapshot.to_api(now) if snapshot and not in_progress else None,
                "in_progress": snapshot.to_api(now) if snapshot and in_progress else None,
            },
        }

    def instance_view(self, now: float) -> dict[str, Any]:
        """The ``backups`` object of the Instance."""
        schedule = {"day": self.day, "window": self.window} if self.enabled else {"day": None, "window": None}
        return {
            "enabled": self.enabled,
            "available": any(b.status(now) == "successful" for b in self.all()),
            "last_successful": self.last_successful(now),
            "schedule": schedule,
        }


def check_snapshot_label(body: dict[str, Any]) -> str:
    label = body.get("label")
    if not isinstance(label, str) or not 1 <= len(label.strip()) <= 255:
        raise bad_request("label is required (1–255 characters)", "label")
    return label


def check_restore(body: dict[str, Any]) -> tuple[int, bool]:
    """The target ``linode_id`` (required) and ``overwrite`` (default false) of a restore."""
    target = body.get("linode_id")
    if not isinstance(target, int) or isinstance(target, bool):
        raise bad_request("linode_id is required", "linode_id")
    overwrite = body.get("overwrite", False)
    if not isinstance(overwrite, bool):
        raise bad_request("overwrite must be a boolean", "overwrite")
    return target, overwrite
