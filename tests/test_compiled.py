"""The compiled copies of the conversion modules (invoice_hub.compiled): used only while current,
and indistinguishable from their sources in what they make of any document.

- The mechanism, on a small package compiled for real by Cython here: a current copy is imported,
  an edited source (``.py``, or the ``.pxd`` of its declarations) runs as edited (with a warning naming
  the rebuild) until rebuilt, a ``.pxd`` takes effect in the copy only, all of a
  package or none, ``INVOICE_HUB_PURE_PYTHON=1`` runs the sources, a copy for another Python is
  ignored, a current build is not redone.
- The hub's own copies: ``make install`` (which ``make test`` runs first) compiled them, so this
  process imports them; a worker process started with ``INVOICE_HUB_PURE_PYTHON=1`` runs the
  sources, and both must give the same findings, model, outputs (byte for byte), refusals,
  read-backs and losses for the official examples and for documents mutated from them by hypothesis.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoice_hub.compiled import (
    COMPILED_FOLDER,
    COMPILED_MODULES,
    MANIFEST,
    PURE_PYTHON_VARIABLE,
    build,
    copies_in_use,
    stale_modules,
)
from tests.compiled_outcome import outcome
from tests.test_ap_agility import seed_example
from tests.test_en16931_differential import EXAMPLES, mutated_invoices
from tests.test_hostile_documents import HOSTILE, mutated_ap_agility

PROJECT = Path(__file__).resolve().parents[1]
TOY_MODULES = ("toy.fast", "toy.other")


def _toy(plugins: Path, answer: int = 42) -> None:
    package = plugins / "toy"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(
        textwrap.dedent("""\
            from pathlib import Path

            from invoice_hub.compiled import use_compiled_copies

            COMPILED = use_compiled_copies(__path__, __name__, Path(__file__).parent / "_compiled")
        """)
    )
    (package / "fast.py").write_text(
        f"def answer() -> int:\n    return sum(range({answer} + 1)) - sum(range({answer}))\n\n\n"
        "def shout(word):\n    return word.upper()\n"
    )
    (package / "other.py").write_text("def name() -> str:\n    return 'other'\n")


def _compile(plugins: Path) -> bool:
    return build(TOY_MODULES, plugins / "toy" / "_compiled", plugins)


def _run(plugins: Path, **environment: str) -> tuple[dict[str, object], str]:
    """Import the toy package in a fresh process: which files its modules came from, and its log."""
    # shout(1) fails on 1.upper() as Python has it, or on its argument's declared type (a .pxd's).
    code = (
        "import json, logging; logging.basicConfig(); import toy, toy.fast, toy.other\n"
        "try:\n    toy.fast.shout(1)\nexcept AttributeError:\n    typed = False\n"
        "except TypeError:\n    typed = True\n"
        "print(json.dumps({'compiled': toy.COMPILED, 'fast': toy.fast.__file__, "
        "'other': toy.other.__file__, 'answer': toy.fast.answer(), 'typed': typed}))"
    )
    env = {key: value for key, value in os.environ.items() if key != PURE_PYTHON_VARIABLE}
    env["PYTHONPATH"] = os.pathsep.join([str(plugins), str(PROJECT / "plugins")])
    result = subprocess.run(
        [sys.executable, "-c", code], env={**env, **environment}, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout), result.stderr


@pytest.fixture(scope="module")
def built_toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    plugins = tmp_path_factory.mktemp("toy-build") / "plugins"
    _toy(plugins)
    assert _compile(plugins)
    return plugins


@pytest.fixture
def toy(built_toy: Path, tmp_path: Path) -> Path:
    """A copy of the compiled toy package, for a test to edit."""
    plugins = tmp_path / "plugins"
    shutil.copytree(built_toy, plugins)
    return plugins


def test_a_current_copy_is_imported_instead_of_its_source(toy: Path) -> None:
    imported, log = _run(toy)
    assert imported["compiled"] is True
    assert str(imported["fast"]).endswith(".so") and "/toy/_compiled/toy/" in str(imported["fast"])
    assert imported["answer"] == 42
    assert log == ""


def test_a_current_build_is_not_redone(toy: Path) -> None:
    manifest = toy / "toy" / "_compiled" / MANIFEST
    before = manifest.stat().st_mtime_ns
    assert not _compile(toy)
    assert manifest.stat().st_mtime_ns == before


def test_an_edited_source_runs_as_edited_until_it_is_compiled_again(toy: Path) -> None:
    _toy(toy, answer=43)  # fast.py edited after the build; other.py unchanged
    imported, log = _run(toy)
    # all or none: the unchanged module runs from its source too
    assert imported["compiled"] is False
    assert str(imported["fast"]).endswith("toy/fast.py") and str(imported["other"]).endswith("toy/other.py")
    assert imported["answer"] == 43
    assert "toy.fast" in log and "older than their source" in log and "make install" in log
    assert "toy.other" not in log  # only the stale one is named

    assert _compile(toy)
    imported, log = _run(toy)
    assert imported["compiled"] is True and str(imported["fast"]).endswith(".so")
    assert imported["answer"] == 43
    assert log == ""


def test_a_declarations_file_is_compiled_in_and_an_edited_one_makes_the_copy_stale(toy: Path) -> None:
    imported, _ = _run(toy)
    assert imported["compiled"] is True and imported["typed"] is False
    declarations = toy / "toy" / "fast.pxd"
    declarations.write_text("cpdef shout(str word)\n")  # added after the build: the copy lacks it
    imported, log = _run(toy)
    assert imported["compiled"] is False and imported["typed"] is False
    assert "toy.fast" in log and "make install" in log

    assert _compile(toy)
    imported, log = _run(toy)
    assert imported["compiled"] is True and imported["typed"] is True and imported["answer"] == 42
    assert log == ""

    declarations.write_text("cpdef shout(word)\n")  # edited: stale again, the sources run
    imported, log = _run(toy)
    assert imported["compiled"] is False and imported["typed"] is False and "toy.fast" in log


def test_a_deleted_copy_runs_the_sources(toy: Path) -> None:
    (so,) = (toy / "toy" / "_compiled" / "toy").glob("fast.*.so")
    so.unlink()
    imported, log = _run(toy)
    assert imported["compiled"] is False and str(imported["fast"]).endswith("fast.py")
    assert "toy.fast" in log and "make install" in log


def test_the_environment_variable_runs_the_sources(toy: Path) -> None:
    imported, log = _run(toy, **{PURE_PYTHON_VARIABLE: "1"})
    assert imported["compiled"] is False and str(imported["fast"]).endswith("fast.py")
    assert log == ""
    imported, _ = _run(toy, **{PURE_PYTHON_VARIABLE: "0"})  # 0 is "not set"
    assert imported["compiled"] is True


def test_copies_for_another_python_are_ignored_without_a_warning(toy: Path) -> None:
    manifest = toy / "toy" / "_compiled" / MANIFEST
    recorded = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**recorded, "suffix": ".cpython-312-x86_64-linux-gnu.so"}))
    imported, log = _run(toy)
    assert imported["compiled"] is False and str(imported["fast"]).endswith("fast.py")
    assert log == ""  # nothing to rebuild here: this Python never had copies


def test_never_compiled_runs_the_sources_without_a_warning(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    _toy(plugins)
    imported, log = _run(plugins)
    assert imported["compiled"] is False and imported["answer"] == 42
    assert log == ""


# -- the hub's own copies ----------------------------------------------------------------------------


def test_the_hub_imports_its_current_compiled_copies() -> None:
    stale = stale_modules()
    assert stale is not None, f"{COMPILED_FOLDER}: nothing compiled; make install (and make test) compiles it"
    assert stale == [], f"{COMPILED_FOLDER}: {stale} older than their sources; run make install"
    pure = os.environ.get(PURE_PYTHON_VARIABLE, "") not in ("", "0")
    files = {name: importlib.import_module(name).__file__ for name in COMPILED_MODULES}
    assert copies_in_use() is not pure, files


class _PureWorker:
    """A process running tests.compiled_outcome on the interpreted sources."""

    def __init__(self) -> None:
        env = {**os.environ, PURE_PYTHON_VARIABLE: "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.compiled_outcome"],
            cwd=PROJECT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.modules: dict[str, str] = json.loads(self.process.stdout.readline())

    def outcome(self, data: bytes, name: str) -> dict[str, object]:
        assert self.process.stdin is not None and self.process.stdout is not None
        request = {"name": name, "data": base64.b64encode(data).decode()}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, "the pure-Python worker ended"
        return json.loads(line)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def pure() -> Iterator[_PureWorker]:
    assert stale_modules() == [], "the compiled copies are not current: run make install"
    worker = _PureWorker()
    try:
        assert all(path.endswith(".py") for path in worker.modules.values()), worker.modules
        assert worker.outcome(seed_example(), "probe.xml")["format"] == "ap_agility"
        yield worker
    finally:
        worker.close()


def _same(pure: _PureWorker, data: bytes, name: str, folder: Path, what: str | None = None) -> None:
    compiled = json.loads(json.dumps(outcome(data, name, folder)))  # the worker's answer went through JSON
    assert compiled == pure.outcome(data, name), (
        f"{what or name}: the compiled build and the sources disagree"
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_an_official_example_converts_the_same_compiled_and_interpreted(
    pure: _PureWorker, path: Path, tmp_path: Path
) -> None:
    _same(pure, path.read_bytes(), path.name, tmp_path)


def test_the_seed_ap_agility_example_converts_the_same_compiled_and_interpreted(
    pure: _PureWorker, tmp_path: Path
) -> None:
    _same(pure, seed_example(), "seed.xml", tmp_path)


@HOSTILE  # the hostile-document tests' draws: as many, the same in every run
@given(
    st.one_of(
        mutated_invoices().map(lambda drawn: (f"{drawn[0]} after {drawn[1]}", drawn[2])),
        mutated_ap_agility().map(lambda drawn: (f"AP Agility after {drawn[0]}", drawn[1])),
    )
)
def test_a_mutated_document_converts_the_same_compiled_and_interpreted(
    pure: _PureWorker, tmp_path: Path, document: tuple[str, bytes]
) -> None:
    what, data = document
    _same(pure, data, "mutated.xml", tmp_path, what)
