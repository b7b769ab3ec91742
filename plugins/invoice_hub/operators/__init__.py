"""The operators of an integration DAG, one per task of the DAG contract."""

from invoice_hub.operators.archive import ArchiveOperator
from invoice_hub.operators.deliver import DeliverOperator
from invoice_hub.operators.export import ExportArchiveOperator, ExportRenderOperator, SelectInvoicesOperator
from invoice_hub.operators.fetch import FetchOperator
from invoice_hub.operators.reconcile import OpenArReconcileOperator
from invoice_hub.operators.validate_transform import ApAgilityExportOperator, ValidateTransformOperator
from invoice_hub.operators.wait_for_files import WaitForFilesOperator

__all__ = [
    "ApAgilityExportOperator",
    "ArchiveOperator",
    "DeliverOperator",
    "ExportArchiveOperator",
    "ExportRenderOperator",
    "FetchOperator",
    "OpenArReconcileOperator",
    "SelectInvoicesOperator",
    "ValidateTransformOperator",
    "WaitForFilesOperator",
]
