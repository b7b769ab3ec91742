"""Integration and mapping files: models, loading and error reporting."""

from invoice_hub.config.loader import ConfigProblem, IntegrationFile, load_folder, load_integration
from invoice_hub.config.models import Integration

__all__ = ["ConfigProblem", "Integration", "IntegrationFile", "load_folder", "load_integration"]
