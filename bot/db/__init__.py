"""ContainerStacks Slack bot."""

from __future__ import annotations
