"""Who may see and do what on the Invoices pages: Airflow's own login and DAG permissions.

A plugin's FastAPI app is anonymous unless it asks: every route of the dashboard depends on
:data:`UserDep` (Airflow's ``get_user``: the UI's session cookie or a bearer token, else 401) and
checks the integration's DAG with the auth manager (``requires_access_dag``'s own check, so
whatever auth manager is configured decides: FAB's per-DAG permissions, SimpleAuthManager's roles
and teams, Keycloak's policies). An integration is its DAG: ``dag_id`` = integration name.

Reading the ledger of an integration needs read access to its DAG; resend and manual export start
DAG runs and need what Airflow's own "trigger" needs (``POST`` on the DAG's runs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from airflow.api_fastapi.auth.managers.base_auth_manager import BaseAuthManager
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import get_user, requires_access_dag
from fastapi import Depends, HTTPException, Request, status

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.base_auth_manager import ResourceMethod

UserDep = Annotated[BaseUser, Depends(get_user)]


def _auth_manager() -> BaseAuthManager:
    """Airflow's auth manager, as the api-server initialised it."""
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager()


def readable_integrations(user: BaseUser) -> set[str]:
    """The integrations (DAG ids) ``user`` may read: what every list of the dashboard is limited to."""
    return _auth_manager().get_authorized_dag_ids(user=user, method="GET")


def require_read(request: Request, user: BaseUser, integration: str) -> None:
    """403 unless ``user`` may read the DAG of ``integration``."""
    _check(request, user, integration, "GET", None)


def require_trigger(request: Request, user: BaseUser, integration: str) -> None:
    """403 unless ``user`` may start runs of the DAG of ``integration`` (as Airflow's Trigger button)."""
    _check(request, user, integration, "POST", DagAccessEntity.RUN)


def _check(
    request: Request, user: BaseUser, integration: str, method: ResourceMethod, entity: DagAccessEntity | None
) -> None:
    try:
        requires_access_dag(method, entity, param_dag_id=integration)(request, user)
    except HTTPException as exc:
        if exc.status_code != status.HTTP_403_FORBIDDEN:
            raise
        action = "read" if method == "GET" else "trigger runs of"
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"you may not {action} the DAG {integration!r}: ask an Airflow admin for that permission",
        ) from exc


def login_url(request: Request) -> str:
    """Where a browser without a session logs in, and comes back here afterwards."""
    return _auth_manager().get_url_login(next_url=str(request.url))
