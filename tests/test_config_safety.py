"""``invoice-hub check-config`` (and so the DAG factory, which loads files the same way) refuses the
layouts that would read, move or delete what is not the partner's, naming the file, the key and the fix;
safe layouts stay accepted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from invoice_hub.dag_factory import integration_dags
from tests.helpers import write


def check_config(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cli = Path(sys.executable).with_name("invoice-hub")
    return subprocess.run(
        [str(cli), "check-config", str(path)], capture_output=True, text=True, env={**os.environ, **env}
    )


@pytest.fixture
def hub(tmp_path: Path) -> dict[str, str]:
    """The environment of a deployment whose every folder is under ``tmp_path``."""
    folders = {
        "AIRFLOW_HOME": tmp_path / "airflow",
        "AIRFLOW__CORE__DAGS_FOLDER": tmp_path / "project" / "dags",
        "INVOICE_HUB_INTEGRATIONS_DIR": tmp_path / "project" / "integrations",
        "INVOICE_HUB_MAPPINGS_DIR": tmp_path / "project" / "mappings",
        "INVOICE_HUB_STAGING_URL": tmp_path / "shared" / "staging",
        "INVOICE_HUB_STORE_URL": tmp_path / "shared" / "store",
    }
    for folder in folders.values():
        folder.mkdir(parents=True)
    env = {key: str(folder) for key, folder in folders.items()}
    env["INVOICE_HUB_STAGING_URL"] = folders["INVOICE_HUB_STAGING_URL"].as_uri()
    env["INVOICE_HUB_STORE_URL"] = folders["INVOICE_HUB_STORE_URL"].as_uri()
    return env


def integration(source: str, destinations: str) -> str:
    return f"name: layout\nsource:\n{source}\ndestinations:\n{destinations}\n"


def local_source(path: str | Path, **keys: str) -> str:
    return "  type: local\n" + f"  path: {path}\n" + "".join(f"  {k}: {v}\n" for k, v in keys.items())


def local_destination(path: str | Path, if_exists: str = "unique") -> str:
    return f"  - type: local\n    path: {path}\n    if_exists: {if_exists}\n"


def refused(path: Path, env: dict[str, str], key: str, *words: str) -> str:
    result = check_config(path, env)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith(f"{path}: {key}: ")]
    assert lines, result.stdout
    assert all(word in lines[0] for word in words), lines[0]
    return lines[0]


def test_source_at_root_recursive_delete_is_refused(tmp_path: Path, hub: dict[str, str]) -> None:
    path = write(
        tmp_path / "i.yaml",
        integration(
            local_source("/", recursive="true", on_success="delete"), local_destination(tmp_path / "out")
        ),
    )
    line = refused(path, hub, "source.path", "the source folder is / (the whole machine)", "e.g. /srv/")
    assert line.endswith("(line 4)")


def test_source_through_a_link_to_root_is_refused(tmp_path: Path, hub: dict[str, str]) -> None:
    (tmp_path / "share").symlink_to("/")
    path = write(
        tmp_path / "i.yaml",
        integration(local_source(tmp_path / "share"), local_destination(tmp_path / "out")),
    )
    refused(path, hub, "source.path", "is / (the whole machine)")


def test_source_inside_the_airflow_home_is_refused(tmp_path: Path, hub: dict[str, str]) -> None:
    source = tmp_path / "airflow"
    path = write(
        tmp_path / "i.yaml",
        integration(
            local_source(source, on_success="{move_to: " + str(tmp_path / "done") + "}"),
            local_destination(tmp_path / "out"),
        ),
    )
    refused(
        path, hub, "source.path", f"{source} is the Airflow home (AIRFLOW_HOME)", "Use a folder of its own"
    )
    path.write_text(path.read_text().replace(f"path: {source}", f"path: {source / 'logs'}"))
    refused(path, hub, "source.path", "is inside the Airflow home (AIRFLOW_HOME)")


def test_source_above_the_airflow_home_is_refused(tmp_path: Path, hub: dict[str, str]) -> None:
    path = write(
        tmp_path / "i.yaml",
        integration(
            local_source(tmp_path, recursive="true"), local_destination(tmp_path / "elsewhere" / "out")
        ),
    )
    refused(path, hub, "source.path", f"{tmp_path} holds the ", "read, move or delete")


@pytest.mark.parametrize(
    ("folder", "label"),
    [
        ("airflow/invoice_hub/ledger", "the hub's own data folder"),
        ("shared/staging/run", "the hub's staging area (INVOICE_HUB_STAGING_URL)"),
        ("shared/store", "the hub's document store (INVOICE_HUB_STORE_URL)"),
        ("project/integrations", "the integrations folder (INVOICE_HUB_INTEGRATIONS_DIR)"),
        ("project/mappings", "the mappings folder (INVOICE_HUB_MAPPINGS_DIR)"),
        ("project/dags", "Airflow's DAG folder ([core] dags_folder)"),
        ("project", "/project holds the"),  # above the DAG, integrations and mappings folders
    ],
)
def test_destination_in_or_above_the_hubs_own_folders_is_refused(
    tmp_path: Path, hub: dict[str, str], folder: str, label: str
) -> None:
    path = write(
        tmp_path / "i.yaml", integration(local_source(tmp_path / "in"), local_destination(tmp_path / folder))
    )
    refused(path, hub, "destinations[0].path", label, "write or overwrite")


def test_move_to_inside_the_airflow_home_is_refused(tmp_path: Path, hub: dict[str, str]) -> None:
    source = local_source(
        tmp_path / "in", on_failure="{move_to: " + str(tmp_path / "airflow" / "failed") + "}"
    )
    path = write(tmp_path / "i.yaml", integration(source, local_destination(tmp_path / "out")))
    refused(path, hub, "source.on_failure.move_to", "inside the Airflow home")


@pytest.mark.parametrize("action", ["delete", "{move_to: done}"])
def test_destination_equal_to_the_source_with_an_archive_step_is_refused(
    tmp_path: Path, hub: dict[str, str], action: str
) -> None:
    source = local_source(tmp_path / "share", on_success=action)
    path = write(tmp_path / "i.yaml", integration(source, local_destination(tmp_path / "share", "replace")))
    refused(
        path, hub, "destinations[0].path", "is the source folder", "source.on_success", "on_success: keep"
    )


def test_destination_inside_a_recursive_source_with_an_archive_step_is_refused(
    tmp_path: Path, hub: dict[str, str]
) -> None:
    source = local_source("share", recursive="true", on_failure="{move_to: rejected}")  # relative paths
    path = write(tmp_path / "i.yaml", integration(source, local_destination("share/out")))
    refused(
        path,
        hub,
        "destinations[0].path",
        f"inside the source folder {tmp_path / 'share'}",
        "on_failure: keep",
    )
    # a non-recursive source does not list its subfolders: the archive step never reaches the outputs
    path.write_text(path.read_text().replace("recursive: true", "recursive: false"))
    assert check_config(path, hub).returncode == 0


def test_move_to_inside_a_recursive_source_is_refused(tmp_path: Path, hub: dict[str, str]) -> None:
    source = local_source(tmp_path / "share", recursive="true", on_success="{move_to: share/done}")
    path = write(tmp_path / "i.yaml", integration(source, local_destination(tmp_path / "out")))
    refused(path, hub, "source.on_success.move_to", "recursive source", "listed again", "recursive: false")


def test_move_to_the_source_folder_itself_is_refused(tmp_path: Path, hub: dict[str, str]) -> None:
    source = local_source(tmp_path / "share", on_failure="{move_to: " + str(tmp_path / "share") + "/.}")
    path = write(tmp_path / "i.yaml", integration(source, local_destination(tmp_path / "out")))
    refused(path, hub, "source.on_failure.move_to", "is the source folder itself")


def sftp(role: str, conn_id: str, path: str, **keys: str) -> str:
    indent = "  - " if role == "destination" else "  "
    pad = "    " if role == "destination" else "  "
    return f"{indent}type: sftp\n{pad}conn_id: {conn_id}\n{pad}path: {path}\n" + "".join(
        f"{pad}{k}: {v}\n" for k, v in keys.items()
    )


def test_remote_destination_equal_to_the_source_on_the_same_connection_is_refused(
    tmp_path: Path, hub: dict[str, str]
) -> None:
    text = integration(
        sftp("source", "partner", "/invoices", on_success="{move_to: /invoices/done}"),
        sftp("destination", "partner", "/invoices/", if_exists="replace"),
    )
    path = write(tmp_path / "i.yaml", text)
    refused(path, hub, "destinations[0].path", "/invoices is the source folder")
    # the same folder on another server is another folder
    path.write_text(text.replace("conn_id: partner\n    path", "conn_id: erp\n    path"))
    assert check_config(path, hub).returncode == 0


def test_remote_move_to_inside_a_recursive_source_is_refused(tmp_path: Path, hub: dict[str, str]) -> None:
    text = integration(
        sftp("source", "partner", "/invoices", recursive="true", on_failure="{move_to: /invoices/failed}"),
        sftp("destination", "erp", "/in"),
    )
    refused(write(tmp_path / "i.yaml", text), hub, "source.on_failure.move_to", "recursive source /invoices")


def test_safe_layouts_stay_accepted(tmp_path: Path, hub: dict[str, str]) -> None:
    share = tmp_path / "partner"
    source = local_source(
        share / "outbox",
        recursive="true",
        on_success="{move_to: " + str(share / "processed") + "}",
        on_failure="{move_to: " + str(share / "rejected") + "}",
    )
    destinations = local_destination(tmp_path / "erp" / "inbox", "replace") + local_destination(
        share / "outbox", "unique"
    )
    path = write(
        tmp_path / "i.yaml",
        integration(source, destinations).replace("on_success: {move_to", "on_success: {move_to", 1),
    )
    # a destination in the source folder is fine while the source files are kept
    text = integration(local_source(share / "outbox", recursive="false"), destinations)
    path.write_text(text)
    result = check_config(path, hub)
    assert result.returncode == 0, result.stdout + result.stderr
    # a non-recursive source may archive into a folder below it, remotely too
    text = integration(
        sftp("source", "partner", "/invoices", on_success="{move_to: /invoices/done}"),
        sftp("destination", "partner", "/ap/in", if_exists="replace"),
    )
    path.write_text(text)
    assert check_config(path, hub).returncode == 0


def test_the_dag_factory_builds_no_dag_from_a_dangerous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub: dict[str, str]
) -> None:
    for key, value in hub.items():
        monkeypatch.setenv(key, value)
    folder = Path(hub["INVOICE_HUB_INTEGRATIONS_DIR"])
    write(
        folder / "bad.yaml",
        integration(local_source("/", on_success="delete"), local_destination(tmp_path / "out")),
    )
    write(
        folder / "good.yaml",
        integration(local_source(tmp_path / "in"), local_destination(tmp_path / "out")).replace(
            "layout", "good"
        ),
    )
    dags = integration_dags()
    assert "good" in dags and "layout" not in dags
