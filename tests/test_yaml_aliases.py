"""YAML aliases that expand without bound ("billion laughs"), or that refer to themselves, are one
file's problem (``FILE: (file): ...``), found on the node graph before anything walks the expansion."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from invoice_hub.config import load_folder, load_integration
from invoice_hub.config.loader import MAX_DEPTH, MAX_EXPANDED_NODES
from tests.helpers import write

VALID = """
name: supplier_inbound
source: {type: local, path: inbox}
destinations: [{type: local, path: outbox}]
"""


BOMBS = {
    # 9^9 = 387 million strings once expanded; the file is 12 lines
    "billion-laughs": "\n".join(
        [
            VALID.strip(),
            "x0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]",
            *(f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 9) + "]" for i in range(1, 10)),
        ]
    ),
    # merge keys double the mapping at each level: 2^40 keys
    "merge-keys": "\n".join(
        [
            VALID.strip(),
            "m0: &m0 {a: 1}",
            *(f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: {i}}}" for i in range(1, 41)),
        ]
    ),
}

CYCLES = {
    "sequence-in-itself": VALID + "tags: &t [a, *t]\n",
    "mapping-in-itself": VALID.replace(
        "source: {type: local, path: inbox}", "source: &s {type: local, path: *s}"
    ),
    "merge-of-itself": VALID + "notify: &n {<<: *n}\n",
}


@pytest.mark.parametrize("text", BOMBS.values(), ids=BOMBS.keys())
def test_alias_bomb_is_refused_as_a_problem_of_the_file(tmp_path: Path, text: str) -> None:
    entry = load_integration(write(tmp_path / "bomb.yaml", text))
    assert entry.integration is None
    (problem,) = entry.problems
    assert problem.key == "(file)"
    assert f"expand to more than {MAX_EXPANDED_NODES:,} values" in problem.message
    assert str(problem).startswith(f"{tmp_path / 'bomb.yaml'}: (file): YAML aliases")


@pytest.mark.parametrize("text", CYCLES.values(), ids=CYCLES.keys())
def test_self_referencing_alias_is_refused_not_a_recursion_error(tmp_path: Path, text: str) -> None:
    entry = load_integration(write(tmp_path / "cycle.yaml", text))
    assert entry.integration is None
    (problem,) = entry.problems
    assert problem.key == "(file)" and "refers to the value that contains it" in problem.message
    assert problem.line is not None


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    text = VALID + "tags: " + "[" * 3000 + "]" * 3000 + "\n"
    (problem,) = load_integration(write(tmp_path / "deep.yaml", text)).problems
    assert problem.key == "(file)" and "nested more than" in problem.message


@pytest.mark.parametrize("opening", ["[", "- "], ids=["flow", "block"])
def test_nesting_that_would_crash_the_c_parser_is_refused_before_composing(
    tmp_path: Path, opening: str
) -> None:
    """PyYAML's C composer recurses in C: 100,000 levels (a 200 KB file) end the process with a
    segmentation fault, in the DAG processor taking every integration along. Loaded in a child process
    so that a crash fails this test rather than the test run."""
    closing = "]" * 100_000 if opening == "[" else "x"
    path = write(tmp_path / "deeper.yaml", VALID + "tags:\n  " + opening * 100_000 + closing + "\n")
    code = (
        "import sys; from pathlib import Path; from invoice_hub.config import load_integration; "
        "print(*(str(p) for p in load_integration(Path(sys.argv[1])).problems), sep='\\n')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"the loader crashed: exit {result.returncode} {result.stderr[-500:]}"
    assert (
        result.stdout.strip()
        == f"{path}: (file): values nested more than {MAX_DEPTH} levels deep; an integration file needs a handful"
    )


def test_aliases_within_the_bound_still_work(tmp_path: Path) -> None:
    text = """
    name: supplier_inbound
    source: {type: local, path: inbox}
    destinations:
      - &out {type: local, path: outbox}
      - *out
    notify:
      on_failure: &team [ap@example.com, ops@example.com]
      on_success: *team
    """
    entry = load_integration(write(tmp_path / "ok.yaml", text))
    assert entry.problems == []
    assert entry.integration is not None and len(entry.integration.destinations) == 2
    assert entry.integration.notify.on_success == ["ap@example.com", "ops@example.com"]


def test_a_bomb_beside_valid_files_leaves_them_valid(tmp_path: Path) -> None:
    write(tmp_path / "a_valid.yaml", VALID)
    write(tmp_path / "b_bomb.yaml", BOMBS["billion-laughs"].replace("supplier_inbound", "other"))
    write(tmp_path / "c_cycle.yaml", CYCLES["sequence-in-itself"].replace("supplier_inbound", "third"))
    valid, bomb, cycle = load_folder([tmp_path])
    assert valid.integration is not None and valid.problems == []
    assert bomb.integration is None and cycle.integration is None
