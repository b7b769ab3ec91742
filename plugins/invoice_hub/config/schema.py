"""The JSON Schema of integration files, generated from the models so that it cannot drift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from invoice_hub import settings
from invoice_hub.config.models import FORMAT_VERSION, Integration

SCHEMA_FILE = "schema.json"


def integration_schema() -> dict[str, Any]:
    schema = Integration.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://invoice-hub.example/schemas/integration-v{FORMAT_VERSION}.json",
        **schema,
        "title": f"Invoice hub integration file, format version {FORMAT_VERSION}",
        "description": "One integration = one Airflow DAG (dag_id = name). Editors: put "
        "`# yaml-language-server: $schema=./schema.json` on the first line of an integration file.",
    }


def schema_text() -> str:
    return json.dumps(integration_schema(), indent=2, ensure_ascii=False) + "\n"


def schema_path() -> Path:
    return settings.PROJECT_ROOT / "include" / "integrations" / SCHEMA_FILE
