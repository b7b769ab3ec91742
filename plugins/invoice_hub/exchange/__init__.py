"""The exactly-once logic of fetch, deliver and archive: library functions over a ledger, a
transport and a staging area, tested without Airflow; the operators only adapt Context and XCom."""

from __future__ import annotations

from typing import Any, Protocol


class TaskLog(Protocol):
    """The log a run writes to: a ``logging.Logger`` in tests and the CLI, Airflow's task logger
    (structlog, not a ``logging.Logger``) when an operator hands over ``self.log``."""

    def info(self, message: str, /, *args: Any) -> Any: ...
    def warning(self, message: str, /, *args: Any) -> Any: ...
    def error(self, message: str, /, *args: Any) -> Any: ...
    def exception(self, message: str, /, *args: Any) -> Any: ...
