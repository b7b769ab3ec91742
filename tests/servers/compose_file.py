"""docker-compose.yaml as Docker Compose itself resolves it, for the tests that check or run it.

Debian's ``docker-compose`` (1.29) does the resolving: YAML anchors and merge keys, ``${NAME:-default}``
and ``${NAME:?error}`` interpolation from an env file. Its ``config`` output keeps ``$$`` escaped (so
that it could be read again); :func:`unescape` turns that into the ``$`` a container's shell sees.
No Docker engine is needed for ``config``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

PROJECT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = PROJECT / "docker-compose.yaml"
ENV_EXAMPLE = PROJECT / ".env.example"


class ComposeError(RuntimeError):
    """docker-compose refused the file; the message carries what it printed."""


def read_env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines of an env file (comments and blank lines skipped), as compose reads them."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def compose_config(env: Mapping[str, str], compose_file: Path = COMPOSE_FILE) -> dict[str, Any]:
    """``docker-compose config`` of ``compose_file`` with ``env`` as its ``.env`` file, parsed.

    Run with an environment of PATH alone, so that nothing of the test process's own environment
    leaks into the interpolation: only ``env`` supplies values, as ``.env`` does in production.
    """
    binary = shutil.which("docker-compose")
    if binary is None:
        raise ComposeError("docker-compose is not installed: run scripts/system-packages.sh (make install)")
    with tempfile.NamedTemporaryFile("w", suffix=".env") as env_file:
        env_file.write("".join(f"{name}={value}\n" for name, value in env.items()))
        env_file.flush()
        result = subprocess.run(
            [binary, "--env-file", env_file.name, "-f", str(compose_file), "config"],
            capture_output=True,
            text=True,
            cwd=compose_file.parent,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            timeout=60,
        )
    if result.returncode != 0:
        raise ComposeError(f"docker-compose config exited {result.returncode}: {result.stderr.strip()}")
    return yaml.safe_load(result.stdout)


def unescape(value: Any) -> Any:
    """A resolved value as the container gets it: compose's ``$$`` escape is one ``$``."""
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, list):
        return [unescape(item) for item in value]
    if isinstance(value, dict):
        return {key: unescape(item) for key, item in value.items()}
    return value


def container_hostname() -> str:
    """``[core] hostname_callable`` of the process-based cluster: the ``HOSTNAME`` a container has.

    In Docker every container has a host name of its own, and Airflow records it as each task
    instance's hostname; processes on one machine share one, so the harness gives each "container" its
    ``HOSTNAME`` and Airflow reads it here (importable by the Airflow processes through PYTHONPATH).
    """
    return os.environ["HOSTNAME"]
