"""The problems of the integration files, handed from the hub's DAG file to its second DAG file.

``dags/invoice_hub_integrations.py`` validates every file to build the valid DAGs; the second file,
``dags/invoice_hub_config_errors.py``, raises the problems of the broken ones as its import error.
Airflow parses the two in separate processes, so without this the folder would be validated twice
on every parse (0.5-1 s more for 1,000 files). The DAG file remembers what it found, with the state
of the folder it found it in (names, sizes, times of the integration and mapping files, the
settings, the hub's config code); the second file uses that while the state is unchanged and
validates again otherwise. The DAG file decides which DAGs exist, so the problems shown are exactly
those of the files it left out at its last parse.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from invoice_hub import settings
from invoice_hub.config.loader import integration_files
from invoice_hub.config.safety import ENVIRONMENT

CACHE_NAME = "integration-problems.json"
_CONFIG_CODE = Path(__file__).resolve().parent
#: A change of any of these changes which folders are refused (config/safety.py).
_SETTINGS = ENVIRONMENT


def cache_path() -> Path:
    return settings.hub_home() / CACHE_NAME


def folder_state(paths: Iterable[Path]) -> str:
    """A digest of everything the problems of ``paths`` depend on that can change without notice.

    Taken *before* loading: a file changed while loading makes the state stale, never the reverse.
    """
    digest = hashlib.sha256()
    for key in _SETTINGS:
        digest.update(f"{key}={os.environ.get(key)}\0".encode())
    files = [
        *integration_files(paths),
        *(p for p in _listing(settings.mappings_dir())),
        *sorted(_CONFIG_CODE.glob("*.py")),
    ]
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            digest.update(f"{path}:missing\0".encode())
            continue
        digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}\0".encode())
    return digest.hexdigest()


def _listing(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def remember(state: str, problems: list[str]) -> None:
    """Write the problems found in ``state``; best effort (a read-only Airflow home only costs time)."""
    target = cache_path()
    temporary: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=target.parent, prefix=f".{CACHE_NAME}.", suffix=".part", delete=False, encoding="utf-8"
        ) as sink:
            temporary = sink.name
            json.dump({"state": state, "problems": problems}, sink)
        os.replace(temporary, target)  # atomic: the other DAG file never reads half a file
    except OSError:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.remove(temporary)


def recall(state: str) -> list[str] | None:
    """The problems remembered for ``state``, or None when they were found in another state."""
    try:
        cached = json.loads(cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(cached, dict) or cached.get("state") != state:
        return None
    problems = cached.get("problems")
    return problems if isinstance(problems, list) else None
