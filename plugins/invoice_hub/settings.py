"""Where the hub finds its files, from environment variables with project defaults.

Kept free of Airflow imports: it is read while parsing DAGs and by the CLI.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The project checkout: plugins/invoice_hub/settings.py -> the folder holding plugins/.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def integrations_dir() -> Path:
    """Folder of integration files (``INVOICE_HUB_INTEGRATIONS_DIR``)."""
    return Path(os.environ.get("INVOICE_HUB_INTEGRATIONS_DIR") or PROJECT_ROOT / "include" / "integrations")


def mappings_dir() -> Path:
    """Folder of mapping files (``INVOICE_HUB_MAPPINGS_DIR``)."""
    return Path(os.environ.get("INVOICE_HUB_MAPPINGS_DIR") or PROJECT_ROOT / "include" / "mappings")


def airflow_home() -> Path:
    """Airflow's home, as Airflow itself defaults it."""
    return Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")


def hub_home() -> Path:
    """The hub's own files under the Airflow home: the SQLite ledger and the default staging area."""
    return airflow_home() / "invoice_hub"


def staging_url() -> str:
    """Base URL of the staging area shared by the tasks of a run (``INVOICE_HUB_STAGING_URL``).

    Any scheme Airflow's ObjectStoragePath knows works (``s3://``, ``gs://``, ...) so that tasks can
    run on different workers; the default is a folder under the Airflow home.
    """
    return os.environ.get("INVOICE_HUB_STAGING_URL") or (hub_home() / "staging").as_uri()


def store_url() -> str:
    """Base URL of the document store (``INVOICE_HUB_STORE_URL``): every received invoice's source and
    every rendered export, kept by content for re-exports and backfills. Like staging, any
    ObjectStoragePath scheme; the default is a folder under the Airflow home."""
    return os.environ.get("INVOICE_HUB_STORE_URL") or (hub_home() / "store").as_uri()
