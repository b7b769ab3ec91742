"""An S3-compatible server on 127.0.0.1, standing in for docker-compose.yaml's MinIO.

moto's standalone server speaks the S3 REST API (the requests s3fs/aiobotocore send are the ones MinIO
answers), keeps everything in its memory and needs no credentials of its own: any key pair signs. It
runs as a process of its own (``moto_server``), not a thread of the test process, so that Airflow's
workers in other processes reach it while the test process waits on something else.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from tests.servers.sshd import free_port, wait_for_port

MOTO_SERVER = Path(sys.executable).with_name("moto_server")
#: Any key pair works with moto; these are the ones the tests put in the aws connection.
ACCESS_KEY, SECRET_KEY, REGION = "invoice-hub-test", "invoice-hub-test-secret", "us-east-1"


@dataclass
class S3Server:
    """``moto_server`` on a free port; :meth:`create_bucket` as MinIO's ``mc mb``."""

    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> S3Server:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            wait_for_port(self.port, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(10)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.process = None

    def client(self):  # -> botocore S3 client; imported here: only S3 tests need boto3
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every key under ``prefix`` (all pages)."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def requests(self, method: str) -> list[str]:
        """The paths (``/bucket/key``) of the ``method`` requests the server answered, from its log."""
        pattern = re.compile(rf'"{re.escape(method)} (/[^ ?]*)\S* HTTP/[0-9.]+" 2\d\d ')
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # werkzeug colours the lines of non-200 answers (206)
        return [unquote(match[1]) for match in pattern.finditer(text)]

    def reset(self) -> None:
        """Forget every bucket (moto's own reset endpoint): a test starts from an empty store."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def connection(self) -> str:
        """The Airflow ``aws`` connection of this server, as JSON (``AIRFLOW_CONN_<ID>``)."""
        return json.dumps(
            {
                "conn_type": "aws",
                "login": ACCESS_KEY,
                "password": SECRET_KEY,
                "extra": {"endpoint_url": self.endpoint_url, "region_name": REGION},
            }
        )
