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


def is_storage_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is the hub's own storage failing (staging or the document store unreadable, a
    disk full, the ledger's database gone) rather than something about the file being handled.

    The per-file loops of the tasks record a file's own problem against that file, which then goes to
    the failure folder for good. A storage failure must not be recorded so: the same file succeeds
    once the storage is back, so the task fails (and is retried) instead, and every file stays where
    it is. Object stores reach here as ``OSError`` (s3fs and Airflow's ObjectStoragePath translate
    their clients' errors so); the hub's own errors say themselves what they are about.
    """
    if isinstance(exc, HubError):
        return False
    if isinstance(exc, OSError):
        return True
    from sqlalchemy.exc import InterfaceError, OperationalError

    return isinstance(exc, OperationalError | InterfaceError)


def storage_failed(what: str, exc: BaseException) -> HubError:
    """The retryable error that replaces a storage failure met while handling ``what``."""
    return HubError(
        f"{what}: the hub's storage failed ({type(exc).__name__}: {exc}); no file was failed for it: "
        "the task is retried, and the files stay at their source until a run gets through. Check that "
        "the staging area and document store (INVOICE_HUB_STAGING_URL, INVOICE_HUB_STORE_URL) and the "
        "ledger's database are reachable",
        retryable=True,
    )
