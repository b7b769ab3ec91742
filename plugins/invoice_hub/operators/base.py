"""What the five tasks of an integration DAG share: the integration, its file, its ledger, its staging."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from invoice_hub.config.models import Destination, Integration
from invoice_hub.errors import HubError
from invoice_hub.manifest import Manifest
from invoice_hub.transports import Transport, open_transport

if TYPE_CHECKING:  # imported when a task runs, not while Airflow parses DAGs
    from invoice_hub.exchange.resend import ResendRequest
    from invoice_hub.ledger.store import Ledger
    from invoice_hub.staging import Staging

P = ParamSpec("P")
R = TypeVar("R")


def fail_fast(method: Callable[P, R]) -> Callable[P, R]:
    """Retrying cannot fix a missing folder, a refused password or a host key mismatch: no retries then."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except HubError as exc:
            if exc.retryable:
                raise
            raise AirflowFailException(str(exc)) from exc

    return wrapper


def check_params(integration: Integration, conf: Mapping[str, Any] | None, allowed: Iterable[str]) -> None:
    """Refuse a run whose configuration names a param the DAG does not have.

    Airflow merges ``dag_run.conf`` into the params without checking its keys, so a misspelt
    ``{"customers": "C1"}`` would be ignored and an export run its whole interval instead, a misspelt
    ``{"aprove": [...]}`` would leave a held snapshot held, and any key is silently dropped by a
    transfer, which has no params.
    """
    allowed = tuple(allowed)
    unknown = sorted(set(conf or {}) - set(allowed))
    if unknown:
        raise HubError(
            f"{integration.name}: unknown param(s) {', '.join(map(repr, unknown))} in the run's "
            f"configuration; the allowed params are {', '.join(allowed) or '(none)'}: trigger the DAG again "
            "with those",
            retryable=False,
        )


class IntegrationOperator(BaseOperator):
    """Base of the five tasks: the integration, its file, its ledger, its staging."""

    ui_color = "#e8f4fa"

    def __init__(self, *, integration: Integration, integration_file: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.integration = integration
        self.integration_file = integration_file

    integration: Integration
    integration_file: Path

    @property
    def base_dir(self) -> Path:
        """Relative local paths in the integration file are relative to the file's folder."""
        return self.integration_file.parent

    @cached_property
    def ledger(self) -> Ledger:
        from invoice_hub.ledger.store import Ledger  # imported at run time only: parsing stays light

        return Ledger()

    def source_transport(self) -> Transport:
        return open_transport(self.integration.source, self.base_dir)

    def destination_transport(self, destination: Destination) -> Transport:
        return open_transport(destination, self.base_dir)

    def staging(self, context: Context) -> Staging:
        from invoice_hub.staging import Staging

        return Staging(self.integration.name, context["run_id"])

    def check_run_conf(self, context: Context) -> None:
        """The first task of every run refuses keys of ``dag_run.conf`` that are not the DAG's params."""
        check_params(self.integration, context["dag_run"].conf, self.dag.params.keys())

    def resend_request(self, context: Context) -> ResendRequest | None:
        """The run's resend request, or None: a resend run delivers one stored document and leaves
        the source alone (see :mod:`invoice_hub.exchange.resend`)."""
        from invoice_hub.exchange.resend import resend_request

        return resend_request(self.integration, context["params"])

    def resend_manifest(self, request: ResendRequest) -> dict:
        from invoice_hub.exchange.resend import resend_manifest

        manifest = resend_manifest(self.ledger.engine, self.integration, request)
        self.log.info(
            "Resend %s (sha256 %s) to %s, request %s",
            manifest.files[0].outputs[0].name,
            request.document,
            request.destination,
            request.token,
        )
        return manifest.to_xcom()

    @staticmethod
    def pull_manifest(context: Context, task_id: str) -> Manifest:
        return Manifest.model_validate(context["ti"].xcom_pull(task_ids=task_id))
