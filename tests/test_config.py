"""Integration files: valid ones load, and each kind of mistake is one clear FILE: KEY.PATH: message line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from invoice_hub.config import load_folder, load_integration
from invoice_hub.config.schema import integration_schema, schema_path, schema_text
from tests.conftest import PROJECT
from tests.helpers import write

VALID = """
name: supplier_inbound
description: test
schedule: "@hourly"
start_date: 2026-01-01
source:
  type: local
  path: inbox
  pattern: "*.xml"
  on_success: {move_to: done}
  on_failure: {move_to: failed}
destinations:
  - type: local
    path: outbox
"""

SFTP_BLOCK = "  type: sftp\n  path: /in\n"


def check_config(*paths: Path) -> subprocess.CompletedProcess[str]:
    cli = Path(sys.executable).with_name("invoice-hub")
    return subprocess.run([str(cli), "check-config", *map(str, paths)], capture_output=True, text=True)


def test_valid_file_loads_with_defaults(tmp_path: Path) -> None:
    entry = load_integration(write(tmp_path / "ok.yaml", VALID))
    assert entry.problems == []
    integration = entry.integration
    assert integration is not None
    assert integration.name == "supplier_inbound"
    assert integration.kind == "transfer"
    assert integration.transform.output == "passthrough"
    assert integration.destinations[0].if_exists == "unique"
    assert integration.source.min_age_seconds == 0


# (what the user wrote instead of the valid text, the expected "KEY.PATH: message" start)
MISTAKES = [
    (("name: supplier_inbound", "name: Supplier-Inbound"), "name: expected lower-case letters"),
    (('schedule: "@hourly"', 'schedule: "every hour"'), "schedule: 'every hour' is not a cron string"),
    (('schedule: "@hourly"', 'schedule: "@fortnightly"'), "schedule: unknown preset '@fortnightly'"),
    (('schedule: "@hourly"', 'schedule: "61 * * * *"'), "schedule: '61 * * * *' is not a cron string"),
    (('schedule: "@hourly"', "schedule: @hourly"), "(file): not valid YAML"),
    (("start_date: 2026-01-01", "start_date: yesterday"), "start_date: input should be a valid date"),
    (("start_date: 2026-01-01\n", ""), "start_date: required when schedule is set"),
    (('  pattern: "*.xml"', '  patern: "*.xml"'), "source.patern: unknown key; did you mean 'pattern'?"),
    (
        ("  path: inbox", "  path: inbox\n  password: hunter2"),
        "source.password: unknown key; hosts and credentials",
    ),
    (
        ("  type: local\n  path: inbox", SFTP_BLOCK.rstrip()),
        "source.conn_id: required: the id of the Airflow",
    ),
    (
        ("  - type: local\n    path: outbox", "  - type: ftps\n    path: /out"),
        "destinations[0].conn_id: required",
    ),
    (("  - type: local", "  - type: pigeon"), "destinations[0].type: unknown type 'pigeon'"),
    (("  on_success: {move_to: done}", "  on_success: archive"), "source.on_success: expected keep, delete"),
    (
        ("  on_failure: {move_to: failed}", "  on_failure: delete"),
        "source.on_failure: expected keep or {move_to",
    ),
    (
        ('  pattern: "*.xml"', '  pattern: "*.xml"\n  min_age_seconds: "60"'),
        "source.min_age_seconds: input should be",
    ),
    (
        ("description: test", "description: test\ncatchup: yes please"),
        "catchup: input should be a valid boolean",
    ),
    (("description: test", "description: test\nowner: x\nowner: y"), "owner: key written twice"),
    (
        ("description: test", "description: test\nnotify: {on_failure: [ap-team]}"),
        "notify.on_failure[0]: expected an e-mail address",
    ),
    (
        ("description: test", "description: test\ntransform: {output: docx}"),
        "transform.output: input should be",
    ),
    (
        ("description: test", "description: test\ntransform: {filename: '{invoice}.xml'}"),
        "transform.filename: unknown placeholder {invoice}",
    ),
    (
        ("description: test", "description: test\ntransform: {filename: 'out/{name}'}"),
        "transform.filename: a file name, not a path",
    ),
    (
        ("description: test", "description: test\ntransform: {mapping: nowhere.yaml, output: passthrough}"),
        "transform.mapping: no mapping file 'nowhere.yaml'",
    ),
    (
        ("description: test", "description: test\nkind: export"),
        "source: an export takes invoices from the ledger",
    ),
    (
        ("destinations:\n  - type: local\n    path: outbox\n", "destinations: []\n"),
        "destinations: a transfer needs at least one destination",
    ),
    (
        ("description: test", "description: test\nretries: 5"),
        "retries: unknown key; allowed keys: version, name",
    ),
]


@pytest.mark.parametrize(
    ("replace", "expected"), MISTAKES, ids=[m[1].split(":")[0] + f"-{i}" for i, m in enumerate(MISTAKES)]
)
def test_check_config_names_file_key_and_problem(
    tmp_path: Path, replace: tuple[str, str], expected: str
) -> None:
    old, new = replace
    assert old in VALID, old
    path = write(tmp_path / "broken.yaml", VALID.replace(old, new, 1))
    result = check_config(path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"{path}: {expected}") for line in lines), result.stdout


def test_problem_lines_carry_the_line_number(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.yaml", VALID.replace('  pattern: "*.xml"', '  patern: "*.xml"'))
    (line,) = check_config(path).stdout.splitlines()
    assert line.endswith("(line 8)")


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = VALID.replace("name: supplier_inbound", "name: Bad").replace('  pattern: "*.xml"', "  patern: x")
    result = check_config(write(tmp_path / "two.yaml", text))
    assert len(result.stdout.splitlines()) == 2


def test_duplicate_names_across_files(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", VALID)
    write(tmp_path / "b.yaml", VALID)
    files = load_folder([tmp_path])
    assert files[0].integration is not None
    assert files[1].integration is None
    (problem,) = files[1].problems
    assert problem.key == "name"
    assert "duplicate name 'supplier_inbound'" in problem.message and "a.yaml" in problem.message


def test_secret_values_never_appear_in_messages(tmp_path: Path) -> None:
    path = write(tmp_path / "s.yaml", VALID.replace("  path: inbox", "  path: inbox\n  password: hunter2"))
    assert "hunter2" not in check_config(path).stdout


def test_check_config_exit_codes(tmp_path: Path) -> None:
    assert check_config(write(tmp_path / "ok.yaml", VALID)).returncode == 0
    assert check_config(tmp_path / "missing.yaml").returncode == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    assert check_config(empty).returncode == 1, "a folder without integration files is a mistake"


def test_examples_in_the_repository_are_valid() -> None:
    result = check_config(PROJECT / "include" / "integrations")
    assert result.returncode == 0, result.stdout + result.stderr


def test_committed_schema_is_current() -> None:
    assert schema_path().read_text(encoding="utf-8") == schema_text(), "run: invoice-hub schema"


def test_schema_accepts_the_examples_and_rejects_mistakes() -> None:
    schema = integration_schema()
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted((PROJECT / "include" / "integrations").glob("*.yaml")):
        validator.validate(json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str)))
    broken = yaml.safe_load(VALID)
    broken["source"]["patern"] = "*.xml"
    assert not validator.is_valid(json.loads(json.dumps(broken, default=str)))
