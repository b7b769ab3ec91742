"""docker-compose.yaml: Docker Compose accepts it with .env.example, and it has the issue's shape.

Checked on the file as ``docker-compose config`` resolves it (anchors merged, ``.env`` interpolated),
so every assertion is about what ``docker compose up`` would run. The Airflow services themselves run
as processes from this same file in tests/test_celery_cluster.py.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from tests.servers.compose_file import (
    COMPOSE_FILE,
    ENV_EXAMPLE,
    PROJECT,
    ComposeError,
    compose_config,
    read_env_file,
    unescape,
)

AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
)
LONG_RUNNING = ("postgres", "redis", "minio", *AIRFLOW_SERVICES, "flower")
#: Variables the compose file cannot do without (``${NAME:?...}``): secrets, all of them.
REQUIRED = re.compile(r"\$\{([A-Z_][A-Z0-9_]*):\?")


@pytest.fixture(scope="module")
def example_env() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def services(example_env: dict[str, str]) -> dict[str, dict]:
    return unescape(compose_config(example_env)["services"])


def test_docker_compose_accepts_the_file_with_env_example(services: dict[str, dict]) -> None:
    for name in ("postgres", "redis", "minio", "minio-init", "airflow-init", *AIRFLOW_SERVICES, "flower"):
        assert name in services, f"docker-compose.yaml has no service {name}"
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"].startswith("redis:7")
    assert services["flower"]["profiles"] == ["flower"]
    assert shlex.split(services["flower"]["command"]) == ["celery", "flower"]


def test_every_long_running_service_has_a_healthcheck(services: dict[str, dict]) -> None:
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck", {})
        assert check.get("test"), f"{name} has no healthcheck"


def test_services_start_in_order_of_health_and_init(services: dict[str, dict]) -> None:
    for name in (*AIRFLOW_SERVICES, "flower"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
        # the bucket exists before any task can stage a file in it
        assert depends["minio-init"]["condition"] == "service_completed_successfully", name
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"
    assert services["minio-init"]["depends_on"]["minio"]["condition"] == "service_healthy"
    assert services["airflow-init"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_airflow_runs_on_celery_with_postgres_redis_and_the_bucket(
    services: dict[str, dict], example_env: dict[str, str]
) -> None:
    bucket = example_env["INVOICE_HUB_BUCKET"]
    for name in (*AIRFLOW_SERVICES, "airflow-init", "flower"):
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg://"), name
        assert "@postgres:5432/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://:@redis:6379/"), name
        assert env["INVOICE_HUB_STAGING_URL"] == f"s3://{bucket}/staging", name
        assert env["INVOICE_HUB_STORE_URL"] == f"s3://{bucket}/store", name
        assert env["INVOICE_HUB_OBJECT_STORE_CONN_ID"] == "invoice_hub_s3", name
        # workers share no disk: nothing is mounted into an Airflow service
        assert not services[name].get("volumes"), f"{name} mounts {services[name].get('volumes')}"
    minio_init = services["minio-init"]
    assert minio_init["environment"]["INVOICE_HUB_BUCKET"] == bucket
    assert 'mc mb --ignore-existing "hub/${INVOICE_HUB_BUCKET}"' in minio_init["command"][-1]


def test_airflow_init_migrates_both_databases_and_makes_the_connections(services: dict[str, dict]) -> None:
    init = services["airflow-init"]
    script = init["command"][-1]
    assert "airflow db migrate" in script
    assert "airflow connections import --overwrite" in script  # from the _HUB_CONN_* variables
    assert "invoice_hub.ledger.database" in script and "get_engine()" in script
    env = init["environment"]
    s3 = yaml.safe_load(env["_HUB_CONN_INVOICE_HUB_S3"])  # JSON is YAML
    assert s3["conn_type"] == "aws"
    assert s3["extra"]["endpoint_url"] == "http://minio:9000"
    ledger = yaml.safe_load(env["_HUB_CONN_INVOICE_HUB_DB"])
    assert (ledger["conn_type"], ledger["host"]) == ("postgres", "postgres")
    assert ledger["schema"] != services["postgres"]["environment"]["POSTGRES_DB"]  # a second database
    assert yaml.safe_load(env["_HUB_CONN_SMTP_DEFAULT"])["conn_type"] == "smtp"
    # the connection secrets reach airflow-init only, not every long-running service
    for name in AIRFLOW_SERVICES:
        assert not any(key.startswith("_HUB_CONN_") for key in services[name]["environment"]), name


def test_the_ledger_database_is_created_by_the_postgres_init_script(services: dict[str, dict]) -> None:
    mounts = [
        volume for volume in services["postgres"]["volumes"] if "docker-entrypoint-initdb.d" in str(volume)
    ]
    assert mounts, "postgres mounts no init script"
    source = Path(mounts[0]["source"] if isinstance(mounts[0], dict) else mounts[0].split(":")[0])
    script = (PROJECT / source).read_text()
    assert "CREATE DATABASE" in script and "LEDGER_DB_NAME" in script


def test_no_secret_is_written_in_the_compose_file(example_env: dict[str, str]) -> None:
    text = COMPOSE_FILE.read_text()
    for name, value in example_env.items():
        if re.search(r"PASSWORD|SECRET|KEY", name):
            assert value not in text, f"the value of {name} is written in docker-compose.yaml"
            assert f"${{{name}:" in text, f"{name} is not taken from .env"
    # every variable the compose file requires is in .env.example
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    for name in set(REQUIRED.findall(code)):
        assert name in example_env, f"docker-compose.yaml requires {name}; add it to .env.example"
    raw = yaml.safe_load(text)
    for service in raw["services"].values():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET", key):
                assert str(value).startswith("${"), f"{key} is a literal, not from .env"


def test_a_missing_secret_stops_docker_compose(example_env: dict[str, str]) -> None:
    without = {k: v for k, v in example_env.items() if k != "POSTGRES_PASSWORD"}
    with pytest.raises(ComposeError, match="POSTGRES_PASSWORD"):
        compose_config(without)


def test_the_image_is_built_from_the_project_dockerfile(services: dict[str, dict]) -> None:
    for name in (*AIRFLOW_SERVICES, "airflow-init", "flower"):
        build = services[name]["build"]
        assert Path(build["context"]).resolve() == PROJECT, name
    dockerfile = (PROJECT / "Dockerfile").read_text()
    pinned = re.search(r"^apache-airflow==(\S+)", (PROJECT / "requirements.txt").read_text(), re.M)
    assert pinned is not None
    assert re.search(rf"^FROM apache/airflow:{re.escape(pinned[1])}-python3\.11$", dockerfile, re.M)
    assert "-c /opt/airflow/constraints.txt" in dockerfile
    for folder in ("dags/", "plugins/", "include/"):
        assert re.search(rf"^COPY .*\b{folder} /opt/airflow/{folder}$", dockerfile, re.M), folder
    ignored = (PROJECT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".venv" in ignored
