"""The integration file, format version 1: the hub's public interface.

Every key a user may write is a field here, so that the JSON Schema published in
``include/integrations/schema.json`` is generated from exactly what is enforced.
Models forbid unknown keys; ``invoice_hub.config.errors`` turns pydantic's
errors into ``FILE: KEY.PATH: message`` lines.
"""

from __future__ import annotations

import datetime as dt
import string
from functools import cache
from typing import Annotated, Any, Literal

from croniter import croniter
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from invoice_hub.csv_options import CsvOptions, check_columns
from invoice_hub.report_columns import COLUMNS

FORMAT_VERSION: Literal[1] = 1

#: Airflow schedule presets an integration may name instead of a cron string.
SCHEDULE_PRESETS = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly")

#: Placeholders of ``transform.filename``, per output format.
FILENAME_PLACEHOLDERS = {
    "name": "the source file's name, e.g. INV-1.xml",
    "stem": "the source file's name without its extension, e.g. INV-1",
    "ext": "the output format's extension with its dot, e.g. .xml",
    "invoice_number": "the invoice number (formats that read invoices; else the stem)",
    "timestamp": "the export time, UTC, as YYYYMMDDTHHMMSSZ",
    "date": "the export date, UTC, as YYYY-MM-DD",
    "sha8": "the first 8 hex digits of the output's sha256",
}

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
EmailAddress = Annotated[str, Field(pattern=EMAIL_PATTERN, description="an e-mail address")]


@cache
def _is_cron(expression: str) -> bool:
    """Five-field cron; cached because a thousand integrations share a handful of schedules."""
    return len(expression.split()) == 5 and croniter.is_valid(expression)


class StrictModel(BaseModel):
    """Base of every config block: unknown keys are errors, values are not coerced silently."""

    # strict: YAML already gives ints, bools and dates; "yes" for a bool or "30" for a number is a mistake.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, str_strip_whitespace=True)


@cache
def yaml_keys(block: type[BaseModel]) -> tuple[str, ...]:
    """The keys a user writes for a block of the file (aliases, not Python names)."""
    return tuple(field.alias or name for name, field in block.model_fields.items())


def problem(key: str, message: str) -> PydanticCustomError:
    """An error about ``key`` found by a whole-model check; the error formatter puts it at that key."""
    return PydanticCustomError("config", "{message}", {"key": key, "message": message})


class MoveTo(StrictModel):
    move_to: str = Field(
        min_length=1,
        description="Folder the file is moved to; created when missing; a unique name on collision.",
    )


SuccessAction = Literal["keep", "delete"] | MoveTo
FailureAction = Literal["keep"] | MoveTo


def _one_message_for_union(expected: str):
    """A wrap validator giving one clear message instead of one per union member."""

    def validate(cls: type, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise PydanticCustomError(
                "config", "{message}", {"message": f"expected {expected}, got {value!r}"}
            ) from None

    return validate


class SourceBase(StrictModel):
    path: str = Field(
        default="/",
        description="Folder to read. local: absolute, or relative to the integration file. "
        "imap: the mailbox folder (default INBOX). pop3: not used.",
    )
    pattern: str = Field(
        default="*", min_length=1, description="Shell glob on the file (or attachment) name; '*' = all."
    )
    recursive: bool = Field(default=False, description="Also read the folders below `path`.")
    ignore_root_files: bool = Field(default=False, description='Skip files lying directly in "/".')
    min_age_seconds: int = Field(
        default=0,
        ge=0,
        description="Files modified more recently than this are still being written: skip them this run.",
    )
    wait_seconds: int = Field(
        default=0,
        ge=0,
        le=86400,
        description="How long wait_for_files waits for new files before the run ends skipped; 0 = look once. "
        "Between looks the task waits in Airflow's triggerer, not on a worker.",
    )
    poll_interval_seconds: int = Field(
        default=60, ge=5, le=3600, description="Seconds between looks while waiting (wait_seconds > 0)."
    )
    on_success: SuccessAction = Field(default="keep", description="keep | delete | {move_to: FOLDER}")
    on_failure: FailureAction = Field(
        default="keep", description="keep | {move_to: FOLDER}; the reason is written beside a moved file"
    )

    _on_success_message = field_validator("on_success", mode="wrap")(
        _one_message_for_union("keep, delete or {move_to: FOLDER}")
    )
    _on_failure_message = field_validator("on_failure", mode="wrap")(
        _one_message_for_union("keep or {move_to: FOLDER} (a failed file is never deleted)")
    )


class RemoteSourceBase(SourceBase):
    conn_id: str = Field(min_length=1, description="Airflow connection holding host, port and credentials.")


class LocalSource(SourceBase):
    type: Literal["local"]


class SftpSource(RemoteSourceBase):
    type: Literal["sftp"]


class FtpSource(RemoteSourceBase):
    type: Literal["ftp"]


class FtpsSource(RemoteSourceBase):
    type: Literal["ftps"]


class Pop3Source(RemoteSourceBase):
    type: Literal["pop3"]


class ImapSource(RemoteSourceBase):
    type: Literal["imap"]


class AccountingSourceBase(StrictModel):
    """An accounting system's API that an export reads its invoices from (``kind: export``), instead
    of the ledger's received ones. One class per system (``invoice_hub.accounting`` has its client)."""

    conn_id: str = Field(
        min_length=1, description="Airflow connection of the accounting system: its API token, its host."
    )


class BillyConfig(AccountingSourceBase):
    """``source: {type: billy, conn_id: ...}``: the billy API v2 (``invoice_hub.accounting.billy``)."""

    type: Literal["billy"]


#: The file sources of transfers and reconciliations, and the accounting sources of exports.
FileSource = LocalSource | SftpSource | FtpSource | FtpsSource | Pop3Source | ImapSource
#: (Named ...Config: ``invoice_hub.accounting.AccountingSource`` is the client these configure.)
AccountingConfig = BillyConfig
Source = Annotated[FileSource | AccountingConfig, Field(discriminator="type")]

IfExists = Literal["unique", "replace", "fail"]


class DestinationBase(StrictModel):
    if_exists: IfExists = Field(
        default="unique",
        description="unique: pick a new name (name_1.xml, ...); replace: overwrite; fail: delivery fails.",
    )


class FolderDestinationBase(DestinationBase):
    path: str = Field(
        default="/", description="Folder to write to. local: absolute, or relative to the integration file."
    )


class RemoteFolderDestinationBase(FolderDestinationBase):
    conn_id: str = Field(min_length=1, description="Airflow connection holding host, port and credentials.")


class LocalDestination(FolderDestinationBase):
    type: Literal["local"]


class SftpDestination(RemoteFolderDestinationBase):
    type: Literal["sftp"]


class FtpDestination(RemoteFolderDestinationBase):
    type: Literal["ftp"]


class FtpsDestination(RemoteFolderDestinationBase):
    type: Literal["ftps"]


class EmailDestination(DestinationBase):
    type: Literal["email"]
    conn_id: str = Field(min_length=1, description="Airflow SMTP connection.")
    to: list[EmailAddress] = Field(min_length=1, description="Recipients; each output file is an attachment.")
    subject: str = Field(
        default="Invoice {name}", description="Subject; placeholders as in transform.filename."
    )


class HttpDestination(DestinationBase):
    type: Literal["http"]
    conn_id: str = Field(min_length=1, description="Airflow HTTP connection: base URL, headers, auth.")
    path: str = Field(default="/", description="Endpoint below the connection's base URL.")


Destination = Annotated[
    LocalDestination
    | SftpDestination
    | FtpDestination
    | FtpsDestination
    | EmailDestination
    | HttpDestination,
    Field(discriminator="type"),
]


#: ``reconcile.columns`` keys -> the report reader's canonical columns. Reconciliation speaks of the
#: invoice *reference* and the *customer*, as collections platforms do.
RECONCILE_COLUMNS: dict[str, str] = {
    "invoice_ref": "invoice_number",
    "customer": "customer_id",
    **{c: c for c in COLUMNS if c not in ("invoice_number", "customer_id")},
}


class Reconcile(CsvOptions):
    """How open-AR snapshots are read and compared (``reconcile:``, kind ``open_ar_reconciliation``).

    The reading options are those of ``transform.csv``; ``columns`` names the report's headers by
    what reconciliation calls them (``invoice_ref``, ``customer``, ``open_amount``, ...).
    """

    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Hub field -> the report's header: " + ", ".join(RECONCILE_COLUMNS) + ". "
        "Omitted ones are recognised by common header names; other columns are kept as extra fields.",
    )
    max_paid_fraction: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="A snapshot that would mark more than this fraction of the open invoices paid is "
        "held until a person approves it.",
    )

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, value: dict[str, str]) -> dict[str, str]:
        return check_columns(value, RECONCILE_COLUMNS)

    def csv_options(self) -> CsvOptions:
        """The report reader's options: the same, with the columns under the reader's names."""
        reading = self.model_dump(include=set(CsvOptions.model_fields) - {"columns"})
        return CsvOptions(**reading, columns={RECONCILE_COLUMNS[k]: v for k, v in self.columns.items()})


InputFormat = Literal["ubl", "ap_agility", "open_ar_csv", "any"]
OutputFormat = Literal["ubl", "peppol_bis3", "ap_agility", "open_ar_csv", "pdf", "passthrough"]
ValidationLevel = Literal["none", "structure", "en16931", "peppol"]
LossPolicy = Literal["warn", "fail"]
#: Outputs whose receivers are owed the whole invoice: a term they would not get fails the file by
#: default. The others (AP Agility, reports) are known to carry a subset; a loss is a warning there.
LOSSLESS_OUTPUTS = frozenset({"ubl", "peppol_bis3"})


class Transform(StrictModel):
    input: InputFormat = Field(default="any", description="What the files are; 'any' = detect.")
    validate_: ValidationLevel = Field(
        default="none", alias="validate", description="none | structure | en16931 | peppol"
    )
    mapping: str | None = Field(
        default=None, description="A file in include/mappings/ (or the mappings dir)."
    )
    output: OutputFormat = Field(default="passthrough", description="The format delivered.")
    csv: CsvOptions = Field(
        default_factory=CsvOptions,
        description="Reading open_ar_csv input: delimiter, encoding, decimal, date_format, columns "
        "(each detected when left out).",
    )
    filename: str | None = Field(
        default=None,
        description="Output file name template; placeholders: "
        + ", ".join("{" + key + "}" for key in FILENAME_PLACEHOLDERS)
        + ". Default: {name} for passthrough.",
    )

    on_loss: LossPolicy | None = Field(
        default=None,
        description="A business term the output format cannot hold (a LOSS-* finding): warn (logged, "
        "in the findings JSON, the file delivered) or fail (the file fails with transform.loss). "
        "Default: fail for ubl and peppol_bis3 output, warn otherwise.",
    )

    model_config = ConfigDict(populate_by_name=True)

    def loss_policy(self, output: str | None = None) -> LossPolicy:
        """``on_loss`` for ``output`` (default: this transform's): as set, else by the output format."""
        if self.on_loss is not None:
            return self.on_loss
        return "fail" if (output or self.output) in LOSSLESS_OUTPUTS else "warn"

    @field_validator("filename")
    @classmethod
    def _known_placeholders(cls, template: str | None) -> str | None:
        return check_filename(template)


def check_filename(template: str | None) -> str | None:
    """A ``filename`` template: known placeholders only, a name rather than a path."""
    if template is None:
        return None
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]
    except ValueError as exc:
        raise ValueError(f"not a valid template ({exc}); write literal braces as {{{{ and }}}}") from None
    unknown = sorted({f for f in fields if f not in FILENAME_PLACEHOLDERS})
    if unknown:
        raise ValueError(
            f"unknown placeholder {{{unknown[0]}}}; known: "
            + ", ".join("{" + key + "}" for key in FILENAME_PLACEHOLDERS)
        )
    if "/" in template or "\\" in template:
        raise ValueError("a file name, not a path: remove the '/' (the folder is the destination's path)")
    return template


DateField = Literal["issue_date", "received_at", "approved_at"]
DocumentType = Literal["invoice", "credit_note"]
InvoiceStatus = Literal["open", "paid", "cancelled"]


def _default_types() -> list[DocumentType]:
    return ["invoice", "credit_note"]


def _default_statuses() -> list[InvoiceStatus]:
    return ["open", "paid"]


class Select(StrictModel):
    """Which received invoices an export run takes (``select:``, kind ``export``): those whose
    ``date_field`` falls in the run's data interval."""

    date_field: DateField = Field(
        default="issue_date",
        description="issue_date (the invoice's date), received_at (when the hub got it) or, for an "
        "export with an accounting source, approved_at (when the invoice was approved there).",
    )
    period: Literal["interval", "all"] = Field(
        default="interval",
        description="interval: the run's data interval; all: every matching invoice each run (a report "
        "of the open invoices).",
    )
    customers: Literal["all"] | list[Annotated[str, Field(min_length=1)]] = Field(
        default="all",
        description="'all', or the customer ids (the buyer's identifier) this export is activated for.",
    )
    types: list[DocumentType] = Field(default_factory=_default_types, min_length=1)
    statuses: list[InvoiceStatus] = Field(default_factory=_default_statuses, min_length=1)
    sources: list[str] = Field(
        default_factory=list,
        description="Only invoices received by these integrations; empty = all (an export with an "
        "accounting source takes the invoices it reads itself).",
    )


class CustomerSettings(StrictModel):
    """One customer's own export: another format, file name or gateway (``customers:``)."""

    id: str = Field(
        min_length=1,
        description="The customer id (the buyer's identifier in the ledger; for an accounting source, "
        "the id `invoice-hub customers NAME` lists).",
    )
    active: bool = Field(default=True, description="false: this customer's invoices are not exported.")
    output: OutputFormat | None = Field(default=None, description="Instead of transform.output.")
    mapping: str | None = Field(default=None, description="Instead of transform.mapping.")
    filename: str | None = Field(default=None, description="Instead of transform.filename.")
    destinations: list[Destination] = Field(
        default_factory=list, description="Instead of the integration's destinations (when not empty)."
    )

    @field_validator("filename")
    @classmethod
    def _known_placeholders(cls, template: str | None) -> str | None:
        return check_filename(template)


ReexportPolicy = Literal["skip", "replace", "new_name"]


#: What a run can notify of: it failed; it rejected a file (validation, conversion); it succeeded.
NotifyEvent = Literal["failure", "rejection", "success"]
NOTIFY_EVENTS: tuple[NotifyEvent, ...] = ("failure", "rejection", "success")


def _default_webhook_events() -> list[NotifyEvent]:
    return ["failure", "rejection"]


class Webhook(StrictModel):
    """A chat tool's (or any service's) incoming webhook: one JSON POST per run and event set."""

    conn_id: str = Field(
        min_length=1,
        description="Airflow HTTP connection: the URL the JSON is POSTed to (a token in its path stays "
        "in the connection), headers and auth in its extra.",
    )
    events: list[NotifyEvent] = Field(
        default_factory=_default_webhook_events,
        min_length=1,
        description="failure | rejection | success; default failure and rejection.",
    )


class Notify(StrictModel):
    """Whom a run tells what: one message per run (and recipient group), never one per file or task."""

    on_failure: list[EmailAddress] = Field(
        default_factory=list,
        description="Mailed when a run fails: each failed file with its reason and finding ids, the log link.",
    )
    on_rejection: list[EmailAddress] = Field(
        default_factory=list,
        description="Mailed when a run rejected a file by validation or conversion: each file, its reason "
        "and finding ids.",
    )
    on_success: list[EmailAddress] = Field(
        default_factory=list,
        description="Mailed when a run succeeds: files, invoices and deliveries per destination.",
    )
    webhook: Webhook | None = Field(default=None, description="Also POST these events as JSON (chat tools).")

    def recipients(self, event: NotifyEvent) -> list[str]:
        return {"failure": self.on_failure, "rejection": self.on_rejection, "success": self.on_success}[event]

    @property
    def any(self) -> bool:
        return bool(self.on_failure or self.on_rejection or self.on_success or self.webhook)


class Integration(StrictModel):
    """One integration file: one Airflow DAG whose dag_id is ``name``."""

    version: Literal[1] = Field(default=FORMAT_VERSION, description="Format version of this file.")
    name: str = Field(pattern=NAME_PATTERN, max_length=200, description="The dag_id; unique.")
    description: str = ""
    kind: Literal["transfer", "export", "open_ar_reconciliation"] = "transfer"
    schedule: str | None = Field(
        default=None, description="@hourly | @daily | @weekly | @monthly | @yearly | a cron string | null"
    )
    start_date: dt.date | None = Field(
        default=None, strict=False, description="Required when schedule is set; YYYY-MM-DD."
    )
    catchup: bool = False
    tags: list[str] = Field(default_factory=list)
    owner: str = Field(default="invoice-hub", min_length=1, description="Owner shown in the Airflow UI.")
    source: Source | None = Field(
        default=None,
        description="Where files come from (transfer, reconciliation); for an export, an accounting "
        "system to read invoices from ({type: billy, conn_id: ...}) instead of the ledger's received ones.",
    )
    transform: Transform = Field(default_factory=Transform)
    destinations: list[Destination] = Field(default_factory=list)
    reconcile: Reconcile | None = Field(
        default=None, description="kind open_ar_reconciliation: how snapshots are read and compared."
    )
    select: Select = Field(default_factory=Select, description="kind export: which invoices a run takes.")
    customers: list[CustomerSettings] = Field(
        default_factory=list, description="kind export: customers with their own format, name or gateway."
    )
    reexport: ReexportPolicy = Field(
        default="skip",
        description="kind export: an invoice exported before to a destination is skipped, replaced (same "
        "name, overwritten) or delivered under a new name.",
    )
    notify: Notify = Field(default_factory=Notify)

    @property
    def accounting_source(self) -> AccountingConfig | None:
        """The accounting system an export reads its invoices from; None: the ledger's received ones."""
        return self.source if isinstance(self.source, AccountingSourceBase) else None

    @property
    def file_source(self) -> FileSource | None:
        """The folder or mailbox a transfer or reconciliation reads files from."""
        return self.source if isinstance(self.source, SourceBase) else None

    def destinations_by_id(self) -> list[tuple[str, Destination]]:
        """Every destination with its id: ``destinations.0``, ..., then each export customer's own,
        ``customers.<id>.destinations.0`` (what outputs name as their targets)."""
        found: list[tuple[str, Destination]] = [
            (f"destinations.{i}", d) for i, d in enumerate(self.destinations)
        ]
        found += [
            (f"customers.{c.id}.destinations.{i}", d)
            for c in self.customers
            for i, d in enumerate(c.destinations)
        ]
        return found

    @field_validator("schedule")
    @classmethod
    def _valid_schedule(cls, schedule: str | None) -> str | None:
        if schedule is None or schedule in SCHEDULE_PRESETS:
            return schedule
        if schedule.startswith("@"):
            raise ValueError(f"unknown preset {schedule!r}; use one of {', '.join(SCHEDULE_PRESETS)} or cron")
        if not _is_cron(schedule):
            raise ValueError(
                f"{schedule!r} is not a cron string; write five fields 'minute hour day month weekday', "
                "e.g. '0 6 * * 1-5'"
            )
        return schedule

    @field_validator("tags")
    @classmethod
    def _valid_tags(cls, tags: list[str]) -> list[str]:
        for tag in tags:
            if not tag or len(tag) > 100:
                raise ValueError("tags are 1 to 100 characters long")
        return tags

    @model_validator(mode="after")
    def _complete_for_kind(self) -> Integration:
        if self.schedule is not None and self.start_date is None:
            raise problem("start_date", "required when schedule is set, e.g. start_date: 2026-01-01")
        export_keys = {"select", "customers", "reexport"} & self.model_fields_set
        if self.kind == "export":
            if self.file_source is not None:
                raise problem(
                    "source",
                    "an export takes invoices from the ledger or an accounting system, not files: remove "
                    "source, or name an accounting system (type: billy)",
                )
            _check_export_selection(self)
            if self.transform.output == "passthrough":
                raise problem("transform.output", "an export renders invoices: name a format, e.g. ubl")
            if not self.destinations and not any(c.destinations for c in self.customers):
                raise problem("destinations", "an export needs at least one destination")
            ids = [c.id for c in self.customers]
            if len(set(ids)) != len(ids):
                raise problem("customers", "each customer id once")
            return self
        if export_keys:
            key = sorted(export_keys)[0]
            raise problem(key, "only for kind export; remove it or change kind")
        if self.source is None:
            raise problem("source", f"required for kind {self.kind!r}")
        if self.accounting_source is not None:
            raise problem(
                "source.type",
                f"{self.source.type} is an accounting system: only kind export reads it (kind: export); "
                f"a {self.kind} reads files (sftp, ftp, ftps, pop3, imap, local)",
            )
        if self.kind == "open_ar_reconciliation":
            if "transform" in self.model_fields_set:
                raise problem(
                    "transform",
                    "not used by open_ar_reconciliation (it reads open-AR CSV and delivers status "
                    "changes); put delimiter, encoding, decimal, date_format and columns under reconcile:",
                )
            return self
        if self.reconcile is not None:
            raise problem("reconcile", "only for kind open_ar_reconciliation; remove it or change kind")
        if not self.destinations:
            raise problem("destinations", "a transfer needs at least one destination")
        return self


def _check_export_selection(integration: Integration) -> None:
    """``select`` keys that depend on where an export's invoices come from."""
    select = integration.select
    if integration.accounting_source is None:
        if select.date_field == "approved_at":
            raise problem(
                "select.date_field",
                "approved_at is the approval time in an accounting system: only for an export with "
                "source: {type: billy, ...}; use issue_date or received_at",
            )
        return
    kind = integration.accounting_source.type
    if select.date_field == "received_at":
        raise problem(
            "select.date_field",
            f"an export reading {kind} selects by the invoice's date (issue_date, {kind}'s entry date) or "
            "its approval time (approved_at), not by when the hub read it",
        )
    if select.sources:
        raise problem(
            "select.sources",
            f"an export reading {kind} takes the invoices it reads there: remove select.sources",
        )
