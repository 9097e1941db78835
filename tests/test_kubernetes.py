"""deploy/kubernetes agrees with the bot: ports, probes, routes, setting names, secrets, drain time, memory.

No cluster runs in CI, so the manifests are parsed (PyYAML) and checked against the code they deploy:
the settings in bot/settings.py, the routes `webhooks.add_routes` registers, the shutdown budget in
bot/serve.py and bot/app.py, the image's user and the RSS measured in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

import webhooks
from bot.app import LISTENER_DRAIN_SECONDS
from bot.serve import SHUTDOWN_SECONDS
from bot.settings import Settings
from tests.test_container_files import final_stage

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy" / "kubernetes"
SECRET_SETTINGS = {
    "DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "BOT_SECRET", "SSH_CRED_SECRET",
    "PAYPAL_CLIENT_SECRET", "LINODE_API_TOKEN", "SLACK_CLIENT_SECRET",
}  # fmt: skip
SETTING_NAMES = {name.upper() for name in Settings.model_fields}


def load(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / name).read_text()) if doc]


@pytest.fixture(scope="module")
def manifests() -> dict[str, dict[str, Any]]:
    """Every object by kind (each kind appears once), the example Secret included."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        for doc in load(path.name):
            assert doc["kind"] not in found, f"two {doc['kind']} objects"
            found[doc["kind"]] = doc
    return found


def pod(manifests: dict[str, dict[str, Any]], kind: str) -> dict[str, Any]:
    return manifests[kind]["spec"]["template"]["spec"]


def container(manifests: dict[str, dict[str, Any]], kind: str) -> dict[str, Any]:
    [only] = pod(manifests, kind)["containers"]
    return only


def app_routes() -> dict[str, set[str]]:
    app = web.Application()
    webhooks.add_routes(app)
    routes: dict[str, set[str]] = {}
    for route in app.router.routes():
        routes.setdefault(route.resource.canonical, set()).add(route.method)  # type: ignore[union-attr]
    return routes


def mebibytes(quantity: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)(Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return float(number) * (1024 if unit == "Gi" else 1)


def test_kustomization_lists_every_manifest_but_the_example_secret(manifests: dict[str, dict[str, Any]]) -> None:
    [kustomization] = load("kustomization.yaml")
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in DEPLOY.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert listed == on_disk
    assert {"Deployment", "Service", "PodDisruptionBudget", "Job", "ConfigMap", "Secret", "Ingress"} <= set(manifests)
    assert manifests["Secret"]["metadata"]["namespace"] == kustomization["namespace"]


def test_the_container_listens_on_port_and_probes_hit_the_health_routes(manifests: dict[str, dict[str, Any]]) -> None:
    bot = container(manifests, "Deployment")
    config = manifests["ConfigMap"]["data"]
    [port] = bot["ports"]
    dockerfile_env = " ".join(value for keyword, value in final_stage() if keyword == "ENV")
    assert port["containerPort"] == int(config["PORT"]) == Settings.model_fields["port"].default
    assert f"PORT={config['PORT']}" in dockerfile_env
    routes = app_routes()
    probes = {kind: bot[kind]["httpGet"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert probes["readinessProbe"]["path"] == "/readyz"
    assert probes["livenessProbe"]["path"] == probes["startupProbe"]["path"] == "/healthz"
    for probe in probes.values():
        assert probe["port"] == port["name"]
        assert "GET" in routes[probe["path"]]


def test_every_environment_name_is_a_setting_and_secrets_come_from_the_secret(
    manifests: dict[str, dict[str, Any]],
) -> None:
    config = set(manifests["ConfigMap"]["data"])
    secret = set(manifests["Secret"]["stringData"])
    assert config <= SETTING_NAMES, config - SETTING_NAMES
    assert secret <= SETTING_NAMES, secret - SETTING_NAMES
    assert not config & SECRET_SETTINGS, "a secret in the ConfigMap"
    assert {"DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "BOT_SECRET", "SSH_CRED_SECRET"} <= secret
    for kind in ("Deployment", "Job"):
        spec = container(manifests, kind)
        sources = {next(iter(ref)): next(iter(ref.values()))["name"] for ref in spec["envFrom"]}
        assert sources == {"configMapRef": manifests["ConfigMap"]["metadata"]["name"],
                           "secretRef": manifests["Secret"]["metadata"]["name"]}  # fmt: skip
        assert "env" not in spec  # every variable comes from the ConfigMap or the Secret


def test_the_migration_job_runs_csbot_migrate_with_the_bots_image(manifests: dict[str, dict[str, Any]]) -> None:
    job, bot = container(manifests, "Job"), container(manifests, "Deployment")
    assert job["args"] == ["migrate"] and bot["args"] == ["serve"]  # the image's ENTRYPOINT is csbot
    assert job["image"] == bot["image"]
    assert pod(manifests, "Job")["restartPolicy"] == "Never"


def test_graceful_termination_outlasts_the_drain(manifests: dict[str, dict[str, Any]]) -> None:
    bot = container(manifests, "Deployment")
    pre_stop = bot["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    drain = float(pre_stop[1]) + SHUTDOWN_SECONDS + LISTENER_DRAIN_SECONDS
    assert pod(manifests, "Deployment")["terminationGracePeriodSeconds"] > drain


def test_memory_requests_match_the_measured_rss(manifests: dict[str, dict[str, Any]]) -> None:
    performance = (ROOT / "docs" / "PERFORMANCE.md").read_text()
    measured = max(int(high) for high in re.findall(r"RSS[^*]*\*\*\d+–(\d+) MiB\*\*", performance))
    processes = int(manifests["ConfigMap"]["data"]["WEB_CONCURRENCY"])
    for kind in ("Deployment", "Job"):
        resources = container(manifests, kind)["resources"]
        request = mebibytes(resources["requests"]["memory"])
        assert measured * processes <= request <= 2 * measured * processes, (kind, request)
        assert mebibytes(resources["limits"]["memory"]) >= 2 * request


def test_replicas_survive_disruptions_and_run_as_the_images_user(manifests: dict[str, dict[str, Any]]) -> None:
    deployment = manifests["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["replicas"] >= 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    budget = manifests["PodDisruptionBudget"]["spec"]
    assert budget["selector"]["matchLabels"].items() <= labels.items()
    assert 1 <= budget["minAvailable"] < deployment["spec"]["replicas"]
    assert manifests["Service"]["spec"]["selector"].items() <= labels.items()
    job_labels = manifests["Job"]["spec"]["template"]["metadata"]["labels"]
    assert not manifests["Service"]["spec"]["selector"].items() <= job_labels.items()  # no traffic to the Job
    user = next(value for keyword, value in final_stage() if keyword == "USER").split(":")[0]
    for kind in ("Deployment", "Job"):
        security = pod(manifests, kind)["securityContext"]
        assert security["runAsNonRoot"] is True and str(security["runAsUser"]) == user


def test_the_ingress_serves_only_public_routes_over_tls(manifests: dict[str, dict[str, Any]]) -> None:
    ingress = manifests["Ingress"]["spec"]
    [rule] = ingress["rules"]
    assert rule["host"] in ingress["tls"][0]["hosts"]
    assert manifests["ConfigMap"]["data"]["PUBLIC_URL"] == f"https://{rule['host']}"
    routes = app_routes()
    paths = {path["path"] for path in rule["http"]["paths"]}
    for path in rule["http"]["paths"]:
        backend = path["backend"]["service"]
        assert backend["name"] == manifests["Service"]["metadata"]["name"] and backend["port"]["name"] == "http"
        assert any(route == path["path"] or route.startswith(path["path"] + "/") for route in routes), path
    assert {"/slack/events", "/webhooks/paypal", "/healthz"} <= paths
    assert not paths & {"/metrics", "/readyz", "/"}
