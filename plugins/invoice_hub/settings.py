"""Where the hub finds its files, from environment variables with project defaults.

Kept free of Airflow imports: it is read while parsing DAGs and by the CLI.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

#: The project checkout: plugins/invoice_hub/settings.py -> the folder holding plugins/.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def integrations_dir() -> Path:
    """Folder of integration files (``INVOICE_HUB_INTEGRATIONS_DIR``)."""
    return Path(os.environ.get("INVOICE_HUB_INTEGRATIONS_DIR") or PROJECT_ROOT / "include" / "integrations")


def mappings_dir() -> Path:
    """Folder of mapping files (``INVOICE_HUB_MAPPINGS_DIR``)."""
    return Path(os.environ.get("INVOICE_HUB_MAPPINGS_DIR") or PROJECT_ROOT / "include" / "mappings")


def airflow_home() -> Path:
    """Airflow's home, as Airflow itself defaults it (what the running Airflow uses)."""
    return Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")


#: The Airflow home ``make demo`` prepares in the checkout.
PROJECT_AIRFLOW_HOME = ".airflow"


def find_airflow_home(start: Path | None = None) -> tuple[Path, str] | None:
    """The Airflow home a command run in ``start`` (default: the current folder) means when
    ``AIRFLOW_HOME`` is not set, and why: a ``.airflow/`` folder in ``start`` or a folder above it,
    else the one of the project this package is in, else Airflow's default ``~/airflow`` if Airflow
    was ever set up there (it holds an ``airflow.cfg``). None: there is none, and a command must not
    make one (with an empty ledger) where nobody will look for it."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_AIRFLOW_HOME).is_dir():
            return folder / PROJECT_AIRFLOW_HOME, f"found in {folder}"
    if (PROJECT_ROOT / PROJECT_AIRFLOW_HOME).is_dir():
        return PROJECT_ROOT / PROJECT_AIRFLOW_HOME, "the project's, beside the installed package"
    default = Path.home() / "airflow"
    if (default / "airflow.cfg").is_file():
        return default, "Airflow's default"
    return None


def hub_home() -> Path:
    """The hub's own files under the Airflow home: the SQLite ledger and the default staging area."""
    return airflow_home() / "invoice_hub"


def staging_url() -> str:
    """Base URL of the staging area shared by the tasks of a run (``INVOICE_HUB_STAGING_URL``).

    Any scheme Airflow's ObjectStoragePath knows works (``s3://``, ``gs://``, ...) so that tasks can
    run on different workers; the default is a folder under the Airflow home.
    """
    return with_object_store_conn_id(os.environ.get("INVOICE_HUB_STAGING_URL")) or (
        (hub_home() / "staging").as_uri()
    )


def store_url() -> str:
    """Base URL of the document store (``INVOICE_HUB_STORE_URL``): every received invoice's source and
    every rendered export, kept by content for re-exports and backfills. Like staging, any
    ObjectStoragePath scheme; the default is a folder under the Airflow home."""
    return (
        with_object_store_conn_id(os.environ.get("INVOICE_HUB_STORE_URL")) or (hub_home() / "store").as_uri()
    )


#: Schemes of the local file system: no connection is involved.
_LOCAL_SCHEMES = frozenset({"", "file", "local"})


def with_object_store_conn_id(url: str | None) -> str | None:
    """``url`` with the Airflow connection of ``INVOICE_HUB_OBJECT_STORE_CONN_ID`` written into it.

    ObjectStoragePath reads credentials (and an S3 ``endpoint_url``) from a connection named in the
    URL's user part, ``s3://conn_id@bucket/key``, and keeps that part in ``str(path)``: so every URL
    the hub derives from the base (staged files in XCom manifests, documents in the ledger) names its
    connection and opens the same on any worker, with no setting but the URL. A URL that already names
    one, or a local one, is returned as it is.
    """
    conn_id = os.environ.get("INVOICE_HUB_OBJECT_STORE_CONN_ID")
    if not url or not conn_id:
        return url
    parts = urlsplit(url)
    if parts.scheme in _LOCAL_SCHEMES or "@" in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=f"{conn_id}@{parts.netloc}"))
