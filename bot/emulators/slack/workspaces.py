"""The workspaces the emulated Slack hosts, and the Enterprise Grid organisations above some of them.

A workspace (``T…``) owns its users, channels and messages; an enterprise (``E…``) groups workspaces
so that an org-wide install reaches every one of them. Kept apart from the world's contents so the
question "may this token see that team?" has one answer, here.
"""

from __future__ import annotations

from dataclasses import dataclass

GENERAL_CHANNEL_ID = "C0GENERAL"


@dataclass(frozen=True)
class Enterprise:
    id: str
    name: str

    @property
    def domain(self) -> str:
        return self.name.lower().replace(" ", "-")


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    domain: str
    enterprise_id: str | None = None

    @property
    def url(self) -> str:
        return f"https://{self.domain}.slack.com/"


class Directory:
    """Every workspace and enterprise, looked up by id."""

    def __init__(self, default: Workspace) -> None:
        self.default = default
        self.workspaces: dict[str, Workspace] = {default.id: default}
        self.enterprises: dict[str, Enterprise] = {}

    def add_enterprise(self, enterprise_id: str, name: str) -> Enterprise:
        enterprise = Enterprise(enterprise_id, name)
        self.enterprises[enterprise_id] = enterprise
        return enterprise

    def add_workspace(self, workspace: Workspace) -> Workspace:
        if workspace.enterprise_id is not None and workspace.enterprise_id not in self.enterprises:
            raise KeyError(f"unknown enterprise {workspace.enterprise_id!r}; add it with add_enterprise() first")
        self.workspaces[workspace.id] = workspace
        return workspace

    def workspace(self, team_id: str | None) -> Workspace | None:
        return self.workspaces.get(team_id or "")

    def enterprise(self, enterprise_id: str | None) -> Enterprise | None:
        return self.enterprises.get(enterprise_id or "")

    def general_channel_id(self, team_id: str) -> str:
        """Each workspace's #general; the default workspace keeps the historic ``C0GENERAL``."""
        return GENERAL_CHANNEL_ID if team_id == self.default.id else f"C{team_id[1:]}GEN"

    def teams_of(self, enterprise_id: str) -> frozenset[str]:
        return frozenset(w.id for w in self.workspaces.values() if w.enterprise_id == enterprise_id)
