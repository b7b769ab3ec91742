"""deploy/helm/values.yaml (and its git-sync overlay) agree with the hub they deploy.

No helm binary and no copy of the chart's values.schema.json are here (the chart's schema stays out of
the repository; docs/deployment.md says how the keys were validated against it). What can be checked
without them is checked: the files parse, the executor is the KubernetesExecutor, no secret is written
in them, the environment variables are the ones the hub reads, the Secrets the header tells you to
make hold every key the values refer to, and the image is the one the Dockerfile builds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from invoice_hub import settings
from invoice_hub.ledger.database import LEDGER_CONN_ID

PROJECT = Path(__file__).resolve().parents[1]
HELM = PROJECT / "deploy" / "helm"
VALUES = HELM / "values.yaml"
GIT_SYNC = HELM / "values-git-sync.yaml"
#: Where git-sync checks the repository out in every pod (the chart's dags mount + git-sync's "repo").
GIT_SYNC_CHECKOUT = "/opt/airflow/dags/repo"

#: Chart keys that take a secret inline (each has a ...SecretName / Secret-backed alternative).
INLINE_SECRET_KEY = re.compile(
    r"(pass|password|token|sshKey|fernetKey|apiSecretKey|jwtSecret|webserverSecretKey|brokerUrl)$", re.I
)
#: Environment variables that carry a credential: they belong in a Secret, never in `env`.
SECRET_ENV_NAME = re.compile(r"^AIRFLOW_CONN_|PASSWORD|SECRET|TOKEN|_KEY$")
URL_WITH_CREDENTIALS = re.compile(r"://[^/@\s:]+:[^/@\s]+@")


def load(path: Path) -> dict[str, Any]:
    values = yaml.safe_load(path.read_text())
    assert isinstance(values, dict), f"{path} is not a YAML mapping"
    return values


def merged(*paths: Path) -> dict[str, Any]:
    """Values files merged as `helm -f a -f b` merges them: maps key by key, lists replaced whole."""

    def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        for key, value in over.items():
            both_maps = isinstance(out.get(key), dict) and isinstance(value, dict)
            out[key] = merge(out[key], value) if both_maps else value
        return out

    result: dict[str, Any] = {}
    for path in paths:
        result = merge(result, load(path))
    return result


def leaves(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaves(value, f"{path}[{index}]")
    else:
        yield path, node


def environment(values: dict[str, Any]) -> dict[str, str]:
    """Every plain environment variable the values give Airflow's containers: `env` and `extraEnv`."""
    items = list(values.get("env") or []) + list(yaml.safe_load(values.get("extraEnv") or "[]") or [])
    return {item["name"]: item.get("value") for item in items}


def inline_secrets(values: dict[str, Any]) -> list[str]:
    """Where a values file writes a secret itself instead of naming a Kubernetes Secret."""
    found = []
    for path, value in leaves(values):
        key = re.split(r"[.\[]", path)[-1]
        if INLINE_SECRET_KEY.search(key) and value not in (None, ""):
            found.append(f"{path} is set inline")
        if isinstance(value, str) and URL_WITH_CREDENTIALS.search(value):
            found.append(f"{path} holds a URL with a password")
    for name in environment(values):
        if SECRET_ENV_NAME.search(name):
            found.append(f"environment variable {name} is written as a value")
    return found


def header_secrets(path: Path) -> dict[str, set[str]]:
    """The Kubernetes Secrets the file's header tells you to create, with their keys."""
    commands = re.split(r"kubectl .*?create secret generic ", path.read_text())[1:]
    secrets = {}
    for command in commands:
        name = command.split()[0]
        block = command.split("\n#   helm", 1)[0].split("\n#   kubectl", 1)[0]
        secrets[name] = set(re.findall(r"--from-literal=([A-Za-z0-9_-]+)=", block))
    return secrets


def env_from_secrets(values: dict[str, Any]) -> list[str]:
    refs = yaml.safe_load(values.get("extraEnvFrom") or "[]") or []
    return [ref["secretRef"]["name"] for ref in refs if "secretRef" in ref]


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return load(VALUES)


@pytest.fixture(scope="module")
def with_git_sync() -> dict[str, Any]:
    return merged(VALUES, GIT_SYNC)


def test_the_values_parse_and_run_the_kubernetes_executor(values: dict[str, Any]) -> None:
    assert values["executor"] == "KubernetesExecutor"
    assert "executor" not in (values.get("config") or {}).get("core", {}), (
        "config.core.executor overrides executor"
    )
    # the chart's own PostgreSQL and Redis are not for production, and the executor needs no broker
    assert values["postgresql"]["enabled"] is False
    assert values["redis"]["enabled"] is False
    assert values["data"]["metadataSecretName"]
    # pods keep nothing: no DAG or log volume, task logs in the bucket
    assert values["logs"]["persistence"]["enabled"] is False
    assert values["config"]["kubernetes_executor"]["delete_worker_pods"] == "True"
    assert values["config"]["logging"]["remote_logging"] == "True"


def test_no_secret_is_written_in_the_values_files(
    values: dict[str, Any], with_git_sync: dict[str, Any]
) -> None:
    assert inline_secrets(values) == []
    assert inline_secrets(with_git_sync) == []
    # the chart would create admin/admin: the default user is switched off wherever the chart reads it
    assert values["webserver"]["defaultUser"]["enabled"] is False
    assert values["apiServer"]["defaultUser"]["enabled"] is False


def test_the_secret_check_finds_inline_secrets() -> None:
    leaky = {
        "fernetKey": "a2V5",
        "data": {"metadataConnection": {"pass": "hunter2"}},
        "dags": {"gitSync": {"repo": "https://bot:ghp_abc@git.example.com/hub.git"}},
        "env": [{"name": "AIRFLOW_CONN_INVOICE_HUB_DB", "value": "postgresql://u@h/db"}],
        "extraEnv": "- name: SMTP_PASSWORD\n  value: x\n",
    }
    found = inline_secrets(leaky)
    assert len(found) == 5, found


def test_the_hub_environment_is_the_one_the_code_reads(
    values: dict[str, Any], with_git_sync: dict[str, Any]
) -> None:
    read_by_code = set(
        re.findall(r'os\.environ\.get\("(INVOICE_HUB_\w+)"\)', Path(settings.__file__).read_text())
    )
    assert {
        "INVOICE_HUB_STAGING_URL",
        "INVOICE_HUB_STORE_URL",
        "INVOICE_HUB_OBJECT_STORE_CONN_ID",
    } <= read_by_code
    for name in environment(with_git_sync):
        if name.startswith("INVOICE_HUB_"):
            assert name in read_by_code, (
                f"{name} is set in the Helm values but invoice_hub.settings never reads it"
            )

    env = environment(values)
    compose = yaml.safe_load((PROJECT / "docker-compose.yaml").read_text())["x-airflow-common"]["environment"]
    for name in ("INVOICE_HUB_STAGING_URL", "INVOICE_HUB_STORE_URL", "INVOICE_HUB_OBJECT_STORE_CONN_ID"):
        assert name in env and name in compose, name
    assert env["INVOICE_HUB_OBJECT_STORE_CONN_ID"] == compose["INVOICE_HUB_OBJECT_STORE_CONN_ID"]
    # staging, the store and the task logs: one bucket, one connection
    bucket = {url.split("/")[2] for url in (env["INVOICE_HUB_STAGING_URL"], env["INVOICE_HUB_STORE_URL"])}
    assert len(bucket) == 1 and all(url.startswith("s3://") for url in env.values() if "://" in url)
    logging = values["config"]["logging"]
    assert logging["remote_base_log_folder"].startswith(f"s3://{bucket.pop()}/")
    assert logging["remote_log_conn_id"] == env["INVOICE_HUB_OBJECT_STORE_CONN_ID"]


def test_the_secrets_in_the_header_hold_every_key_the_values_use(values: dict[str, Any]) -> None:
    secrets = header_secrets(VALUES)
    airflow = secrets[values["data"]["metadataSecretName"]]
    # the chart's key names for Airflow's own secrets
    assert values["fernetKeySecretName"] in secrets and "fernet-key" in secrets[values["fernetKeySecretName"]]
    assert "api-secret-key" in secrets[values["apiSecretKeySecretName"]]
    assert "jwt-secret" in secrets[values["jwtSecretName"]]
    assert "connection" in airflow
    for entry in values["secret"]:
        assert entry["secretKey"] in secrets[entry["secretName"]], entry
    # the hub's connections reach every pod from the Secret extraEnvFrom names
    (connections,) = env_from_secrets(values)
    conn_id = environment(values)["INVOICE_HUB_OBJECT_STORE_CONN_ID"]
    assert f"AIRFLOW_CONN_{LEDGER_CONN_ID.upper()}" in secrets[connections]
    assert f"AIRFLOW_CONN_{conn_id.upper()}" in secrets[connections]
    assert "AIRFLOW_CONN_SMTP_DEFAULT" in secrets[connections]


def test_the_image_is_the_one_the_dockerfile_builds(values: dict[str, Any]) -> None:
    dockerfile = (PROJECT / "Dockerfile").read_text()
    base = re.search(r"^FROM apache/airflow:(\S+)-python3\.11$", dockerfile, re.M)
    pinned = re.search(r"^apache-airflow==(\S+)", (PROJECT / "requirements.txt").read_text(), re.M)
    assert base and pinned and values["airflowVersion"] == base[1] == pinned[1]
    compose = yaml.safe_load((PROJECT / "docker-compose.yaml").read_text())["x-airflow-common"]
    compose_image = re.fullmatch(r"\$\{INVOICE_HUB_IMAGE:-([^:}]+):[^}]+\}", compose["image"])
    assert compose_image, compose["image"]
    assert values["defaultAirflowRepository"].rsplit("/", 1)[-1] == compose_image[1]
    image = f"{values['defaultAirflowRepository']}:{values['defaultAirflowTag']}"
    assert f"docker build -t {image} ." in VALUES.read_text(), (
        "the header builds another image than the values run"
    )


def test_dags_are_baked_in_unless_the_git_sync_overlay_is_added(
    values: dict[str, Any], with_git_sync: dict[str, Any]
) -> None:
    assert values["dags"]["gitSync"]["enabled"] is False
    assert values["dags"]["persistence"]["enabled"] is False
    assert values.get("extraEnv") is None, "values.yaml must leave extraEnv to the overlay"

    git_sync = with_git_sync["dags"]["gitSync"]
    assert git_sync["enabled"] is True
    assert (PROJECT / git_sync["subPath"] / "invoice_hub_integrations.py").is_file()
    assert git_sync["credentialsSecret"] in header_secrets(GIT_SYNC)
    # the overlay keeps values.yaml's environment and adds the checkout's include/ folders to it
    env = environment(with_git_sync)
    assert environment(values).items() <= env.items()
    for name, folder in (
        ("INVOICE_HUB_INTEGRATIONS_DIR", "integrations"),
        ("INVOICE_HUB_MAPPINGS_DIR", "mappings"),
    ):
        assert env[name] == f"{GIT_SYNC_CHECKOUT}/include/{folder}"
        assert (PROJECT / "include" / folder).is_dir()


def test_the_install_commands_name_one_chart_version() -> None:
    docs = (PROJECT / "docs" / "deployment.md").read_text()
    versions = set()
    for text in (VALUES.read_text(), GIT_SYNC.read_text(), docs):
        versions |= set(
            re.findall(r"helm upgrade --install invoice-hub apache-airflow/airflow --version (\S+)", text)
        )
    assert len(versions) == 1, versions
