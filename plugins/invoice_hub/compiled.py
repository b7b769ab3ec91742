"""Compiled copies of the conversion modules: the same Python source, compiled with Cython when a
compiler is at hand, and used only while it still matches that source.

Why: a conversion's time is Python's interpreter loop over lxml elements and model fields (see
docs/benchmarks.md); compiling the unchanged modules removes the interpreter's dispatch from it
(about a tenth of a conversion) without a second language or a second implementation. The ``.py``
files stay the only source: they are what runs when nothing is compiled (no compiler in the image,
another Python version, ``INVOICE_HUB_PURE_PYTHON=1``), and the compiled copy is only ever a faster
build of exactly them. A copy older than its source is never used: every module's SHA-256 is recorded
when it is compiled and compared at import, so an edited ``ubl.py`` runs as edited (with a warning to
rebuild), never as the stale copy.

A module may have an augmenting ``.pxd`` beside it (``ubl_writer.pxd``): Cython's declarations of C
types for some of its functions, classes and locals, so that the compiled copy calls them and reads
their attributes directly rather than through Python's lookups. It holds declarations only, never
logic, and only the compiler reads it; it is part of the module's source for the digest, so an
edited ``.pxd`` makes the copy stale as an edited ``.py`` does.

The copies live in ``plugins/invoice_hub/_compiled/`` (not in git, not in the Docker build context:
the image compiles its own), beside a manifest of the sources they were built from; a package whose
modules are compiled calls :func:`use_compiled_copies` first thing, which puts that folder before
its own in the package's ``__path__`` when, and only when, every copy is current.

Build (``make install`` does, and rebuilds whenever a source changed)::

    python -m invoice_hub.compiled          # compile what is stale; nothing to do is fast
    python -m invoice_hub.compiled --check  # exit 1 unless the compiled copies are current
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

#: The modules compiled: the conversion's inner loops (readers, writers, the loss comparison and the
#: XML helpers they share). Model modules stay interpreted: pydantic reads their attribute docstrings
#: from the source, which a compiled class no longer has.
COMPILED_MODULES = (
    "invoice_hub.formats.ap_agility",
    "invoice_hub.formats.loss",
    "invoice_hub.formats.ubl",
    "invoice_hub.formats.ubl_writer",
    "invoice_hub.formats.xml",
)
#: Set to anything but empty or 0 to run the pure-Python modules although compiled copies are current.
PURE_PYTHON_VARIABLE = "INVOICE_HUB_PURE_PYTHON"
PLUGINS = Path(__file__).resolve().parents[1]
COMPILED_FOLDER = PLUGINS / "invoice_hub" / "_compiled"
MANIFEST = "manifest.json"
#: Cython's options: ``annotation_typing`` off keeps Python's semantics (with it, ``x: list`` would
#: refuse a tuple and ``x: float`` become a C double); the modules compile unchanged.
_DIRECTIVES = {"language_level": 3, "annotation_typing": False}


def _source(module: str, plugins: Path) -> Path:
    return plugins.joinpath(*module.split(".")).with_suffix(".py")


def _digest(source: Path) -> str:
    """The SHA-256 of what the copy is compiled from: the ``.py`` and its augmenting ``.pxd``, if any
    (Cython reads the one beside the source)."""
    digest = hashlib.sha256(source.read_bytes())
    declarations = source.with_suffix(".pxd")
    if declarations.is_file():
        digest.update(b"\0pxd\0")
        digest.update(declarations.read_bytes())
    return digest.hexdigest()


def _extension_suffix() -> str:
    return importlib.machinery.EXTENSION_SUFFIXES[0]


def _copy(module: str, folder: Path) -> Path:
    return folder.joinpath(*module.split(".")).with_suffix(_extension_suffix())


def stale_modules(
    folder: Path = COMPILED_FOLDER, plugins: Path = PLUGINS, expected: tuple[str, ...] = ()
) -> list[str] | None:
    """The compiled modules whose copy differs from their source or is missing (with ``expected``,
    the set the copies must be of: one missing, or one beyond it, is stale too); None when nothing
    usable was ever compiled here for this Python (no manifest, another interpreter)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("suffix") != _extension_suffix():
        return None
    digests: dict[str, str] = manifest.get("modules", {})
    stale = []
    for module in sorted({*digests, *expected}):
        source = _source(module, plugins)
        recorded = digests.get(module)
        unexpected = bool(expected) and module not in expected
        if (
            unexpected
            or recorded is None
            or not _copy(module, folder).is_file()
            or not source.is_file()
            or _digest(source) != recorded
        ):
            stale.append(module)
    return stale


def copies_in_use(modules: tuple[str, ...] = COMPILED_MODULES, folder: Path = COMPILED_FOLDER) -> bool:
    """Whether this process imported ``modules`` from their compiled copies (imports them)."""
    files = [importlib.import_module(module).__file__ or "" for module in modules]
    return all(Path(file).is_relative_to(folder) for file in files)


def use_compiled_copies(package_path: list[str], package: str, folder: Path = COMPILED_FOLDER) -> bool:
    """Put ``package``'s compiled copies first on its ``__path__`` if all of them are current.

    All or none: a package runs either its compiled build or its source, never a mix of a current
    and a stale copy. Returns whether the copies are used.
    """
    if os.environ.get(PURE_PYTHON_VARIABLE, "") not in ("", "0"):
        return False
    plugins = folder.parent.parent
    stale = stale_modules(folder, plugins)
    if stale is None:
        return False  # never compiled here: the pure-Python modules are a complete install
    ours = [module for module in stale if module.startswith(package + ".")]
    if ours:
        log.warning(
            "%s: the compiled copies of %s are older than their source; running the pure-Python "
            "modules (slower, same results). Rebuild them with `make install` "
            "(or `python -m invoice_hub.compiled`).",
            folder,
            ", ".join(ours),
        )
        return False
    package_path.insert(0, str(folder.joinpath(*package.split("."))))
    return True


def build(
    modules: tuple[str, ...] = COMPILED_MODULES, folder: Path = COMPILED_FOLDER, plugins: Path = PLUGINS
) -> bool:
    """Compile ``modules`` into ``folder`` unless its copies are current; returns whether it compiled.

    The new copies are built beside the old ones and swapped in whole, so a process importing
    meanwhile sees the old build or the new one, never half of each; the manifest records each
    source's digest as it was read before compiling, so a source edited during the build counts
    as stale afterwards.
    """
    if stale_modules(folder, plugins, expected=modules) == []:
        return False
    from Cython.Build import cythonize  # build-time only: never imported where the copies are used
    from setuptools import Distribution, Extension  # type: ignore[import-untyped]
    from setuptools.command.build_ext import build_ext  # type: ignore[import-untyped]

    digests = {module: _digest(_source(module, plugins)) for module in modules}
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".compiling-", dir=folder.parent))
    try:
        with tempfile.TemporaryDirectory() as scratch:
            extensions = cythonize(
                [Extension(module, [str(_source(module, plugins))]) for module in modules],
                build_dir=scratch,
                compiler_directives=_DIRECTIVES,
                quiet=True,
                nthreads=os.cpu_count() or 1,
            )
            command = build_ext(Distribution({"ext_modules": extensions}))
            command.build_lib = str(staging)
            command.build_temp = scratch
            command.parallel = os.cpu_count() or 1
            command.ensure_finalized()
            command.run()
        manifest = {"suffix": _extension_suffix(), "modules": digests}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        retired = folder.with_name(staging.name + "-retired")
        if folder.exists():
            folder.rename(retired)
        staging.rename(folder)
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return True


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments == ["--check"]:
        stale = stale_modules()
        if stale is None or stale:
            print(f"{COMPILED_FOLDER}: not current ({stale or 'never compiled'}); run make install")
            return 1
        return 0
    if arguments:
        print("usage: python -m invoice_hub.compiled [--check]", file=sys.stderr)
        return 2
    print("compiled" if build() else "compiled copies are current", COMPILED_FOLDER)
    return 0


if __name__ == "__main__":
    sys.exit(main())
