"""The emulated account: instances, their timed status transitions, and the events they emit.

Everything is synchronous and driven by the injected clock: each action sets the first status at
once and schedules the rest as ``(at, status)`` steps, which ``tick()`` applies lazily whenever
state is read. No background task runs, so a fake clock fully controls what the bot observes.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from bot.emulators.linode import metrics
from bot.emulators.linode.backups import NOT_ENABLED, Backup, BackupService, check_restore, check_snapshot_label
from bot.emulators.linode.events import EventLog
from bot.emulators.linode.firewalls import Firewalls
from bot.emulators.linode.fixtures import Catalogue
from bot.emulators.linode.network import Assignment, Network
from bot.emulators.linode.validation import (
    LABEL_NOT_UNIQUE,
    CreateSpec,
    check_create,
    check_rebuild,
    check_resize,
    label_problem,
)
from bot.emulators.linode.wire import Clock, LinodeApiError, api_time, bad_request, not_found

STATUSES = (
    "running",
    "offline",
    "booting",
    "busy",
    "rebooting",
    "shutting_down",
    "provisioning",
    "deleting",
    "migrating",
    "rebuilding",
    "cloning",
    "restoring",
    "stopped",
    "billing_suspension",
)
RESIZE_STATUS = "migrating"  # the reference lists no "resizing": Linode resizes by migrating
BUSY = "Linode busy."
_IDLE = ("running", "offline", "stopped")
_DEFAULT_ALERTS = {"cpu": 90, "io": 10000, "network_in": 10, "network_out": 10, "transfer_quota": 80}

# One phase of an action: the event it emits, the status shown meanwhile, and how long it lasts.
Phase = tuple[str, str, float]


@dataclass(frozen=True)
class Durations:
    """Seconds each transition takes, on the injected clock."""

    provision: float = 1.0
    boot: float = 2.0
    shutdown: float = 1.0
    reboot: float = 2.0
    rebuild: float = 3.0
    resize: float = 3.0
    backup: float = 3.0
    restore: float = 3.0
    stats_delay: float = 300.0  # Linode has no statistics for a new instance for a few minutes


@dataclass
class Instance:
    id: int
    label: str
    type: str
    region: str
    image: str | None
    status: str
    created: float
    updated: float
    specs: dict[str, int]
    ips: Assignment
    tags: list[str] = field(default_factory=list)
    group: str = ""
    backups_enabled: bool = False
    has_user_data: bool = False
    watchdog_enabled: bool = True
    alerts: dict[str, int] = field(default_factory=lambda: dict(_DEFAULT_ALERTS))
    maintenance_policy: str = "linode/migrate"
    plan: list[tuple[float, str]] = field(default_factory=list)
    backups: BackupService = field(default_factory=BackupService)
    transfer_used: int = 0  # bytes this month
    clock: Clock = field(default=time.time, repr=False)

    def advance(self, now: float) -> None:
        while self.plan and self.plan[0][0] <= now:
            at, self.status = self.plan.pop(0)
            self.updated = at

    def entity(self) -> dict[str, Any]:
        return {"id": self.id, "type": "linode", "label": self.label, "url": f"/v4/linode/instances/{self.id}"}

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "group": self.group,
            "status": self.status,
            "type": self.type,
            "region": self.region,
            "image": self.image,
            "ipv4": [a for a in (self.ips.public, self.ips.private) if a],
            "ipv6": f"{self.ips.slaac}/128",
            "specs": dict(self.specs),
            "alerts": dict(self.alerts),
            "backups": self.backups.instance_view(self.clock()),
            "hypervisor": "kvm",
            "watchdog_enabled": self.watchdog_enabled,
            "host_uuid": hashlib.sha1(f"host-{self.id}".encode()).hexdigest(),  # noqa: S324 - an id, not security
            "has_user_data": self.has_user_data,
            "tags": list(self.tags),
            "created": api_time(self.created),
            "updated": api_time(self.updated),
            "disk_encryption": "enabled",
            "lke_cluster_id": None,
            "placement_group": None,
            "capabilities": [],
            "interface_generation": "legacy_config",
            "maintenance_policy": self.maintenance_policy,
            "locks": [],
        }


class Account:
    """Instances, IPs and events of the one account the emulator serves."""

    def __init__(self, clock: Clock, durations: Durations, catalogue: Catalogue) -> None:
        self.clock = clock
        self.durations = durations
        self.catalogue = catalogue
        self.instances: dict[int, Instance] = {}
        self.network = Network()
        self.events = EventLog()
        self.firewalls = Firewalls(clock)
        # Linode ids are unique across the whole platform: each emulator starts somewhere else, so rows
        # of servers from earlier worlds in the same database (tests, a sandbox reset) never share one.
        self._next_id = 50_000_001 + 10_000 * secrets.randbelow(100_000)
        self._next_backup_id = 80_000_001

    def tick(self) -> float:
        now = self.clock()
        for instance in self.instances.values():
            instance.advance(now)
        return now

    def get(self, linode_id: int) -> Instance:
        self.tick()
        instance = self.instances.get(linode_id)
        if instance is None:
            raise not_found()
        return instance

    def by_label(self, label: str) -> Instance | None:
        self.tick()
        return next((i for i in self.instances.values() if i.label == label), None)

    # --- actions -------------------------------------------------------------------------------

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        now = self.tick()
        spec = check_create(body, self.catalogue, lambda label: self.by_label(label) is not None)
        instance = self._build(spec, now)
        phases: list[Phase] = [("linode_create", "provisioning", self.durations.provision)]
        if spec.booted:
            phases.append(("linode_boot", "booting", self.durations.boot))
        self._start(instance, phases, "running" if spec.booted else "offline")
        return instance.to_api()

    def update(self, linode_id: int, body: dict[str, Any]) -> dict[str, Any]:
        instance = self.get(linode_id)
        label = body.get("label", instance.label)
        if label != instance.label:
            if (reason := label_problem(label)) is not None:
                raise bad_request(reason, "label")
            if self.by_label(label) is not None:
                raise bad_request(LABEL_NOT_UNIQUE, "label")
            instance.label = label
            self.firewalls.relabel(instance.id, label)
        if isinstance(body.get("backups"), dict) and "schedule" in body["backups"]:
            schedule = body["backups"]["schedule"]
            if instance.backups.enabled:
                instance.backups.set_schedule(schedule)
            elif isinstance(schedule, dict) and any(schedule.get(k) for k in ("day", "window")):
                raise bad_request(NOT_ENABLED, "backups")  # the SDK's save() sends the null schedule back
        if isinstance(body.get("tags"), list):
            instance.tags = [str(t) for t in dict.fromkeys(body["tags"])]
        if isinstance(body.get("group"), str):
            instance.group = body["group"]
        if isinstance(body.get("alerts"), dict):
            instance.alerts.update({k: v for k, v in body["alerts"].items() if k in _DEFAULT_ALERTS})
        if isinstance(body.get("watchdog_enabled"), bool):
            instance.watchdog_enabled = body["watchdog_enabled"]
        if isinstance(body.get("maintenance_policy"), str):
            instance.maintenance_policy = body["maintenance_policy"]
        instance.updated = self.clock()
        return instance.to_api()

    def boot(self, linode_id: int) -> None:
        instance = self._idle(linode_id)
        seconds = 0.0 if instance.status == "running" else self.durations.boot
        self._start(instance, [("linode_boot", "booting" if seconds else "running", seconds)], "running")

    def shutdown(self, linode_id: int) -> None:
        instance = self._idle(linode_id)
        seconds = 0.0 if instance.status != "running" else self.durations.shutdown
        status = "shutting_down" if seconds else instance.status
        self._start(instance, [("linode_shutdown", status, seconds)], "offline" if seconds else instance.status)

    def reboot(self, linode_id: int) -> None:
        instance = self._idle(linode_id)
        self._start(instance, [("linode_reboot", "rebooting", self.durations.reboot)], "running")

    def rebuild(self, linode_id: int, body: dict[str, Any]) -> dict[str, Any]:
        instance = self._idle(linode_id)
        spec = check_rebuild(body, self.catalogue)
        instance.image = spec.image
        instance.has_user_data = spec.has_user_data
        final = "running" if spec.booted else "offline"
        self._start(instance, [("linode_rebuild", "rebuilding", self.durations.rebuild)], final)
        return instance.to_api()

    def resize(self, linode_id: int, body: dict[str, Any]) -> None:
        instance = self._idle(linode_id)
        instance.type = check_resize(body, self.catalogue, instance.type)
        instance.specs = _specs(self.catalogue.types[instance.type])
        final = "running" if instance.status == "running" else "offline"
        self._start(instance, [("linode_resize", RESIZE_STATUS, self.durations.resize)], final)

    def delete(self, linode_id: int) -> None:
        instance = self.get(linode_id)
        now = self.clock()
        self.events.abort(linode_id, now)
        self.events.add("linode_delete", instance.entity(), now, 0.0)
        self.remove(linode_id)

    # --- backups ------------------------------------------------------------------------------

    def backups_list(self, linode_id: int) -> dict[str, Any]:
        return self.get(linode_id).backups.listing(self.clock())

    def backups_enable(self, linode_id: int) -> None:
        instance = self.get(linode_id)
        instance.backups.enable(self.clock())
        instance.backups_enabled = True
        self.events.add("backups_enable", instance.entity(), self.clock(), 0.0)

    def backups_cancel(self, linode_id: int) -> None:
        instance = self.get(linode_id)
        instance.backups.cancel()
        instance.backups.cancelled(self.clock())
        instance.backups_enabled = False
        self.events.add("backups_cancel", instance.entity(), self.clock(), 0.0)

    def snapshot(self, linode_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """``POST …/backups``: a new snapshot (replacing the previous one) that finishes after a while."""
        instance = self.get(linode_id)
        now = self.clock()
        if not instance.backups.enabled:
            raise bad_request(NOT_ENABLED)
        label = check_snapshot_label(body)
        if instance.backups.busy(now):
            raise LinodeApiError(400, BUSY)
        backup = self._backup(instance, "snapshot", label, now, self.durations.backup)
        instance.backups.snapshot = backup
        self.events.add("linode_snapshot", instance.entity(), now, self.durations.backup)
        return backup.to_api(now)

    def restore_backup(self, linode_id: int, backup_id: str, body: dict[str, Any]) -> None:
        """Restore a successful backup onto ``linode_id`` of the body (same region); the target is
        powered off, ``restoring`` for a while, then ``offline``."""
        source = self.get(linode_id)
        if not backup_id.isdigit():
            raise not_found()
        backup = source.backups.find(int(backup_id))
        now = self.clock()
        target_id, _overwrite = check_restore(body)
        if backup.status(now) != "successful":
            raise bad_request("Only successful backups can be restored", "backup_id")
        target = self.instances.get(target_id)
        if target is None:
            raise bad_request("Linode not found", "linode_id")
        if target.region != backup.region:
            raise bad_request("A backup can only be restored to a Linode in the same region", "linode_id")
        if target.backups.busy(now):
            raise LinodeApiError(400, BUSY)
        self._idle(target_id)
        self._start(target, [("backups_restore", "restoring", self.durations.restore)], "offline")

    def add_backup(self, linode_id: int, *, label: str | None, kind: str, age: float, failed: bool) -> dict[str, Any]:
        instance = self.get(linode_id)
        now = self.clock()
        backup = self._backup(instance, kind, label, now - age - 60, 60.0)
        backup.failed = failed
        if kind == "snapshot":
            instance.backups.snapshot = backup
        else:
            instance.backups.automatic.append(backup)
        return backup.to_api(now)

    def _backup(self, instance: Instance, kind: str, label: str | None, start: float, seconds: float) -> Backup:
        backup = Backup(self._next_backup_id, label, kind, instance.region, start, start + seconds,
                        instance.specs["disk"])  # fmt: skip
        self._next_backup_id += 1
        return backup

    # --- measurements ---------------------------------------------------------------------------

    def stats(self, linode_id: int) -> dict[str, Any]:
        instance = self.get(linode_id)
        return metrics.stats(instance.id, instance.label, instance.created, self.clock(), self.durations.stats_delay)

    def transfer(self, linode_id: int) -> dict[str, Any]:
        instance = self.get(linode_id)
        return metrics.transfer(instance.transfer_used, instance.specs["transfer"])

    # --- firewalls ------------------------------------------------------------------------------

    def attach_firewall(self, firewall_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return self.firewalls.attach(firewall_id, body, lambda i: self.get(i).entity()).to_api()

    def instance_ips(self, linode_id: int) -> dict[str, Any]:
        instance = self.get(linode_id)
        return self.network.instance_view(instance.id, instance.ips)

    # --- test hooks ----------------------------------------------------------------------------

    def set_status(self, linode_id: int, status: str) -> None:
        """Force a status, cancelling any transition (its event ends ``failed``)."""
        if status not in STATUSES:
            raise ValueError(f"unknown Linode status {status!r}; expected one of {STATUSES}")
        instance = self.get(linode_id)
        now = self.clock()
        self.events.abort(linode_id, now)
        instance.plan.clear()
        instance.status = status
        instance.updated = now

    def remove(self, linode_id: int) -> None:
        """Make an instance vanish without an event, as if deleted outside the bot."""
        self.instances.pop(linode_id, None)
        self.network.release(linode_id)
        self.firewalls.forget_instance(linode_id)

    def seed(self, body: dict[str, Any], status: str) -> dict[str, Any]:
        """An instance that already exists in ``status``: no transitions, no events."""
        if status not in STATUSES:
            raise ValueError(f"unknown Linode status {status!r}")
        spec = check_create(body, self.catalogue, lambda label: self.by_label(label) is not None)
        instance = self._build(spec, self.tick())
        instance.status = status
        return instance.to_api()

    def restore(self, linode_id: int, body: dict[str, Any], status: str, public_ip: str | None) -> dict[str, Any]:
        """An instance another emulator held (same id, label, type, region, image, status and IPv4), as
        when the sandbox restarts with servers in its database: no transitions, no events."""
        if status not in STATUSES:
            raise ValueError(f"unknown Linode status {status!r}")
        if linode_id in self.instances:
            raise ValueError(f"instance {linode_id} already exists")
        if body.get("type") not in self.catalogue.types or body.get("region") not in self.catalogue.regions:
            raise ValueError(f"unknown type or region in {body!r}")
        now = self.tick()
        instance = Instance(
            id=linode_id,
            label=str(body.get("label") or f"linode{linode_id}"),
            type=body["type"],
            region=body["region"],
            image=body.get("image"),
            status=status,
            created=now,
            updated=now,
            specs=_specs(self.catalogue.types[body["type"]]),
            ips=self.network.assign(linode_id, body["region"], private=False, public=public_ip),
            tags=list(body.get("tags") or []),
            clock=self.clock,
        )
        self.instances[linode_id] = instance
        self._next_id = max(self._next_id, linode_id + 1)
        return instance.to_api()

    # --- helpers -------------------------------------------------------------------------------

    def _build(self, spec: CreateSpec, now: float) -> Instance:
        linode_id = self._next_id
        self._next_id += 1
        instance = Instance(
            id=linode_id,
            label=spec.label or f"linode{linode_id}",
            type=spec.type,
            region=spec.region,
            image=spec.image,
            status="provisioning",
            created=now,
            updated=now,
            specs=_specs(self.catalogue.types[spec.type]),
            ips=self.network.assign(linode_id, spec.region, private=spec.private_ip),
            tags=spec.tags,
            group=spec.group,
            backups_enabled=spec.backups_enabled,
            has_user_data=spec.has_user_data,
            clock=self.clock,
        )
        if spec.backups_enabled:
            instance.backups.enable(now)
        self.instances[linode_id] = instance
        return instance

    def _idle(self, linode_id: int) -> Instance:
        instance = self.get(linode_id)
        if instance.plan or instance.status not in _IDLE:
            raise LinodeApiError(400, BUSY)
        return instance

    def _start(self, instance: Instance, phases: list[Phase], final: str) -> None:
        """Show the first phase's status now and schedule the others; one event per phase."""
        at = self.clock()
        instance.status = phases[0][1]
        instance.updated = at
        instance.plan.clear()
        for index, (action, _status, seconds) in enumerate(phases):
            self.events.add(action, instance.entity(), at, seconds)
            at += seconds
            following = phases[index + 1][1] if index + 1 < len(phases) else final
            instance.plan.append((at, following))
        instance.advance(self.clock())


def _specs(plan: dict[str, Any]) -> dict[str, int]:
    return {k: plan[k] for k in ("disk", "memory", "vcpus", "gpus", "transfer")}
