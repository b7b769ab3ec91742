"""The hub's own exception base: says whether retrying the task can help."""


class HubError(Exception):
    """An error with a message meant for the person operating the hub (never containing secrets)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable
