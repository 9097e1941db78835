"""Structural checks of Dockerfile, .dockerignore and docker-compose.yml.

No Docker engine runs in CI or on the development machine, so these files are never built there; this
catches the mistakes a build or `docker compose config` would: missing services, healthchecks, a root
user, sources that the build would not find.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, comments dropped and continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text()
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    pairs = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        pairs.append((keyword.upper(), args.strip()))
    return pairs


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_final_image_is_slim_python_and_runs_as_non_root() -> None:
    args = {k: v for k, v in (a.split("=", 1) for kw, a in dockerfile_instructions() if kw == "ARG" and "=" in a)}
    base = final_stage()[0][1].split()[0]
    assert re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base) == "python:3.11-slim"
    users = [value for keyword, value in final_stage() if keyword == "USER"]
    assert users, "the final stage must switch to a non-root USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_dockerfile_runtime_contract() -> None:
    stage = final_stage()
    by_keyword = {keyword: value for keyword, value in stage}
    assert by_keyword["EXPOSE"] == "3000"
    assert json.loads(by_keyword["ENTRYPOINT"]) == ["csbot"]
    assert json.loads(by_keyword["CMD"]) == ["serve"]  # `docker run IMAGE migrate` runs the one-off
    probe = healthcheck_command()
    assert probe.startswith("python -c ") and "urllib.request" in probe
    assert "http://127.0.0.1:${PORT:-3000}/healthz" in probe  # shell form: follows PORT


def healthcheck_command() -> str:
    healthcheck = dict(final_stage())["HEALTHCHECK"]
    return healthcheck[healthcheck.index("CMD") + 3 :].strip()


async def test_the_health_check_probes_the_port_the_bot_listens_on() -> None:
    """Run the HEALTHCHECK as Docker does (`/bin/sh -c`), against a server on a port other than 3000."""

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    command = healthcheck_command().replace("python", shlex.quote(sys.executable), 1)

    def probe(**env: str) -> int:
        environment = {k: v for k, v in os.environ.items() if k != "PORT"} | env
        return subprocess.run(["/bin/sh", "-c", command], env=environment, timeout=30, check=False).returncode

    try:
        assert await asyncio.to_thread(probe, PORT=str(port)) == 0
    finally:
        await runner.cleanup()
    assert await asyncio.to_thread(probe, PORT=str(port)) != 0  # nothing listens there any more


def test_dockerfile_installs_the_package_without_dev_extras() -> None:
    runs = " ".join(value for keyword, value in dockerfile_instructions() if keyword == "RUN")
    assert re.search(r"pip install \.(\s|$)", runs)
    assert "[dev]" not in runs and " -e " not in runs


def test_dockerfile_copies_only_existing_sources() -> None:
    for keyword, value in dockerfile_instructions():
        if keyword != "COPY" or value.startswith("--from"):
            continue
        *sources, _dest = value.split()
        for source in sources:
            if "*" in source:  # optional by design (BuildKit accepts a glob that matches nothing)
                continue
            assert (ROOT / source).exists(), f"COPY source {source} is missing"


def test_dockerignore_keeps_local_state_out() -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git", ".env", ".csbot"} <= patterns
    assert not {"bot", "pyproject.toml", "README.md", "migrations"} & patterns


def test_compose_services_and_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"db", "migrate", "bot"} <= services.keys()
    db = services["db"]
    assert db["image"] == "postgres:15"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume = db["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]  # a named volume, not a bind mount
    bot = services["bot"]
    assert "/healthz" in " ".join(bot["healthcheck"]["test"])
    assert "3000:3000" in bot["ports"]


def test_compose_bot_wiring(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("migrate", "bot"):
        service = services[name]
        assert service["build"] == "."
        assert {"path": ".env", "required": False} in service["env_file"]
        assert urlsplit(service["environment"]["DATABASE_URL"]).hostname == "db"
        assert service["depends_on"]["db"]["condition"] == "service_healthy"
        assert "user" not in service  # the Dockerfile's non-root USER applies
    assert services["migrate"]["command"] == ["migrate"]
    assert services["bot"]["command"] == ["serve"]
    assert services["bot"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
