"""The hub's own exception base: says whether retrying the task can help, and never carries secrets."""

from invoice_hub.redaction import redact


class HubError(Exception):
    """An error with a message meant for the person operating the hub.

    The message is redacted here, at construction (see ``invoice_hub.redaction``): a partner's error
    body that echoes an API key is clean in every log, ledger row, XCom manifest, error file and mail
    the error reaches afterwards.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(redact(message))
        self.retryable = retryable
