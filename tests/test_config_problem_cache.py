"""The second DAG file reuses the problems the DAG file found while the folder is unchanged, and
validates again as soon as anything they depend on changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from invoice_hub import dag_factory
from invoice_hub.config import problem_cache
from invoice_hub.dag_factory import IntegrationFileProblems, integration_dags, raise_config_problems
from tests.helpers import write
from tests.test_config import VALID

pytestmark = pytest.mark.usefixtures("airflow_db")

BROKEN = VALID.replace("name: supplier_inbound", "name: other").replace('  pattern: "*.xml"', "  patern: x")


def problems() -> list[str]:
    try:
        raise_config_problems()
    except IntegrationFileProblems as exc:
        return exc.problems
    return []


def test_unchanged_folder_reuses_what_the_dag_file_found(
    integrations_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(integrations_dir / "good.yaml", VALID)
    broken = write(integrations_dir / "broken.yaml", BROKEN)
    assert list(integration_dags()) == ["supplier_inbound"]
    validated: list[object] = []
    real = dag_factory.load_folder
    monkeypatch.setattr(dag_factory, "load_folder", lambda *a: validated.append(a) or real(*a))
    (problem,) = problems()
    assert problem.startswith(f"{broken}: source.patern: unknown key")
    assert validated == [], "the folder was validated again although nothing changed"

    # the file is fixed: its state changed, so the second file validates and finds nothing
    broken.write_text(broken.read_text().replace("patern: x", "pattern: x"))
    assert problems() == []
    assert len(validated) == 1


@pytest.mark.parametrize(
    "change", ["mapping file", "setting", "new file", "removed file", "same size, new time"]
)
def test_any_change_the_problems_depend_on_is_seen(
    integrations_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    mappings = tmp_path / "mappings"
    write(mappings / "m.yaml", "fields: {}\n")
    monkeypatch.setenv("INVOICE_HUB_MAPPINGS_DIR", str(mappings))
    broken = write(integrations_dir / "broken.yaml", BROKEN)
    before = problem_cache.folder_state([integrations_dir])
    if change == "mapping file":
        write(mappings / "m.yaml", "fields: {x: y}\n")
    elif change == "setting":
        monkeypatch.setenv("INVOICE_HUB_STAGING_URL", (tmp_path / "elsewhere").as_uri())
    elif change == "new file":
        write(integrations_dir / "new.yaml", VALID)
    elif change == "removed file":
        broken.unlink()
    else:
        stat = broken.stat()
        os.utime(broken, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert problem_cache.folder_state([integrations_dir]) != before


def test_an_unwritable_cache_only_costs_time(integrations_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(problem_cache, "cache_path", lambda: Path("/proc/invoice-hub-cannot-write-here.json"))
    broken = write(integrations_dir / "broken.yaml", BROKEN)
    assert list(integration_dags()) == []
    (problem,) = problems()
    assert problem.startswith(f"{broken}: ")


def test_a_dag_airflow_refuses_is_shown_and_spares_the_others(
    integrations_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injected into one file's DAG construction: the other DAG is built, and the failure is
    shown by the second DAG file (it is nothing the file's validation could see)."""
    write(integrations_dir / "good.yaml", VALID)
    refused = write(
        integrations_dir / "refused.yaml", VALID.replace("name: supplier_inbound", "name: refused")
    )
    real = dag_factory.build_dag

    def build(entry):
        if entry.integration.name == "refused":
            raise ValueError("Airflow says no")
        return real(entry)

    monkeypatch.setattr(dag_factory, "build_dag", build)
    assert list(integration_dags()) == ["supplier_inbound"]
    assert problems() == [f"{refused}: (file): cannot become a DAG: Airflow says no"]
