"""Reading integration files into models, with every mistake reported as ``FILE: KEY.PATH: message``.

A folder is loaded file by file so that one broken file never hides the others: the caller gets
the valid integrations *and* the problems, and decides (the DAG factory turns problems into an
Airflow import error, ``check-config`` prints them).
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from invoice_hub import capabilities, settings
from invoice_hub.config.models import EMAIL_PATTERN, NAME_PATTERN, Integration, yaml_keys
from invoice_hub.config.safety import layout_problems

INTEGRATION_SUFFIXES = (".yaml", ".yml")
#: Files in the integrations folder that are not integrations.
NOT_INTEGRATIONS = frozenset({"schema.json"})

KeyPath = tuple[str | int, ...]

#: Keys users reach for that belong in an Airflow connection, never in YAML.
CONNECTION_KEYS = frozenset(
    {
        "host",
        "port",
        "user",
        "username",
        "login",
        "password",
        "passwd",
        "secret",
        "private_key",
        "key_file",
        "passphrase",
        "token",
        "api_key",
    }
)

PATTERN_MEANINGS = {
    NAME_PATTERN: "expected lower-case letters, digits and _, starting with a letter (e.g. semine_inbound)",
    EMAIL_PATTERN: "expected an e-mail address",
}


@dataclass(frozen=True)
class ConfigProblem:
    """One mistake in one file, printable as ``FILE: KEY.PATH: message``."""

    file: Path
    key_path: KeyPath
    message: str
    line: int | None = None

    @property
    def key(self) -> str:
        text = ""
        for part in self.key_path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        return text or "(file)"

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        return f"{self.file}: {self.key}: {self.message}{where}"


@dataclass
class IntegrationFile:
    """An integration file: its model when valid, otherwise its problems."""

    path: Path
    text: str = ""
    integration: Integration | None = None
    problems: list[ConfigProblem] = field(default_factory=list)


# mypy takes only a static base class; this is libyaml's CSafeLoader when PyYAML was built with it,
# else the pure-Python SafeLoader (the same API).
class _KeyLines(
    yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader  # type: ignore[misc]  # see above
):
    """The C YAML parser; kept as a class of our own so the stock loaders stay untouched."""


def _walk_nodes(
    node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], dupes: list[ConfigProblem], file: Path
) -> None:
    """Record each key's line, and every key written twice (YAML itself keeps the last one silently)."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                dupes.append(
                    ConfigProblem(
                        file, (*path, key), "key written twice; keep one", key_node.start_mark.line + 1
                    )
                )
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _walk_nodes(value_node, (*path, key), lines, dupes, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk_nodes(item, (*path, index), lines, dupes, file)


#: At most this many values once every alias is expanded. An integration file has a few hundred;
#: "billion laughs" has 10^9 from a few lines, and every later step (key lines, construction,
#: pydantic) walks the expanded tree.
MAX_EXPANDED_NODES = 10_000
#: At most this many levels of nesting. An integration file has about five; PyYAML's C composer recurses
#: in C and crashes the whole process (a segmentation fault, the DAG processor's parse with it) from
#: some 30,000 levels, which a file of that many bytes can reach ("[[[[..."): larger files are checked
#: on the parser's events, which do not recurse, before they are composed.
MAX_DEPTH = 100
#: Files up to this size cannot nest deeper than the C composer copes with (measured: 20,000 levels).
COMPOSE_WITHOUT_DEPTH_CHECK = 16 * 1024


def alias_problem(root: yaml.Node, file: Path, limit: int = MAX_EXPANDED_NODES) -> ConfigProblem | None:
    """Why ``root`` must not be constructed: a cycle of aliases, or more than ``limit`` values expanded.

    Counted on the composed node graph, where an alias is the very node its anchor names: each node's
    expanded size is computed once (memoised), so the check is linear in the file, never in the
    expansion, and iterative.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > limit:
                return ConfigProblem(
                    file,
                    (),
                    f"YAML aliases expand to more than {limit:,} values (an alias bomb); "
                    "write the values out instead of repeating aliases",
                    node.start_mark.line + 1,
                )
            continue
        if key in sizes:
            continue
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                return _cycle(file, child)
            if id(child) not in sizes:
                stack.append((child, False))
    return None


def _cycle(file: Path, node: yaml.Node) -> ConfigProblem:
    return ConfigProblem(
        file,
        (),
        "a YAML alias refers to the value that contains it (a cycle); "
        "an alias may only repeat a finished value written earlier",
        node.start_mark.line + 1,
    )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def read_text(path: Path) -> tuple[str, list[ConfigProblem]]:
    try:
        return path.read_text(encoding="utf-8"), []
    except (OSError, UnicodeDecodeError) as exc:
        return "", [ConfigProblem(path, (), f"cannot read the file: {exc}")]


def parse_yaml(text: str, path: Path) -> tuple[Any, dict[KeyPath, int], list[ConfigProblem]]:
    """The data of ``text`` (read from ``path``), the line of every key path, and the problems found."""
    loader = _KeyLines(text)
    too_deep = ConfigProblem(
        path, (), f"values nested more than {MAX_DEPTH} levels deep; an integration file needs a handful"
    )
    try:
        if len(text) > COMPOSE_WITHOUT_DEPTH_CHECK and _deeper_than(MAX_DEPTH, text):
            return None, {}, [too_deep]
        node = loader.get_single_node()
        if node is None:
            return None, {}, [ConfigProblem(path, (), "the file is empty")]
        # without an anchor there is no alias: the common case skips the count
        bomb = alias_problem(node, path) if "&" in text else None
        if bomb is not None:
            return None, {}, [bomb]
        lines: dict[KeyPath, int] = {}
        problems: list[ConfigProblem] = []
        _walk_nodes(node, (), lines, problems, path)
        data = loader.construct_document(node)
    except RecursionError:  # nested deeper than the walks below can go (alias counts are iterative)
        return None, {}, [too_deep]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        hint = ""
        if mark is not None and _char_at(text, mark.line, mark.column) in ("@", "`"):
            hint = '; quote values starting with @ or `, e.g. schedule: "@hourly"'
        reason = getattr(exc, "problem", None) or str(exc)
        return (
            None,
            {},
            [ConfigProblem(path, (), f"not valid YAML: {reason}{hint}", mark.line + 1 if mark else None)],
        )
    finally:
        loader.dispose()
    return data, lines, problems


def _deeper_than(limit: int, text: str) -> bool:
    """Whether ``text`` nests collections more than ``limit`` deep, read on the parser's events (which,
    unlike composing, do not recurse). Invalid YAML is left to the composer to report."""
    loader = _KeyLines(text)
    depth = 0
    try:
        while (event := loader.get_event()) is not None:
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > limit:
                    return True
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.StreamEndEvent):
                return False
    except yaml.YAMLError:
        return False
    finally:
        loader.dispose()
    return False


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    return lines[line][column] if line < len(lines) and column < len(lines[line]) else ""


def _clean_loc(loc: tuple[str | int, ...], data: Any) -> KeyPath:
    """Pydantic's error location as the user's key path: union tags and validator names dropped."""
    path: list[str | int] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_dict or in_list:
            node = node[part]
            path.append(part)
        elif (
            isinstance(node, dict)
            and isinstance(part, str)
            and _is_key_name(part)
            and part != node.get("type")
        ):
            node = None  # a key the user did not write (a missing one)
            path.append(part)
        # anything else names a union member or a validator, not a key the user wrote
    return tuple(path)


def _is_key_name(part: str) -> bool:
    return part.isidentifier() and part[0].islower()


def _candidates(annotation: Any) -> list[Any]:
    """The alternatives inside Annotated / Optional / unions, flattened."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _candidates(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [c for arg in typing.get_args(annotation) for c in _candidates(arg)]
    return [annotation]


def _allowed_keys(loc: tuple[str | int, ...], root: type[BaseModel]) -> tuple[str, ...]:
    """The keys allowed where an unknown key was found, from pydantic's raw location (with union tags)."""
    current: list[Any] = [root]
    for part in loc:
        models = [c for c in current if isinstance(c, type) and issubclass(c, BaseModel)]
        if isinstance(part, int):
            current = [
                arg
                for c in current
                if typing.get_origin(c) is list
                for arg in _candidates(typing.get_args(c)[0])
            ]
            continue
        by_tag = [m for m in models if _tag_of(m) == part or m.__name__ == part]
        if by_tag:
            current = by_tag
            continue
        fields = [m.model_fields.get(part) or _field_by_alias(m, part) for m in models]
        current = [c for f in fields if f is not None for c in _candidates(f.annotation)]
    models = [c for c in current if isinstance(c, type) and issubclass(c, BaseModel)]
    return yaml_keys(models[0]) if len(models) == 1 else ()


def _tag_of(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("type")
    if field is not None and typing.get_origin(field.annotation) is typing.Literal:
        return typing.get_args(field.annotation)[0]
    return None


def _field_by_alias(model: type[BaseModel], alias: str) -> Any:
    return next((f for f in model.model_fields.values() if f.alias == alias), None)


def problems_from(
    error: ValidationError,
    data: Any,
    file: Path,
    lines: dict[KeyPath, int],
    root: type[BaseModel] = Integration,
) -> Iterator[ConfigProblem]:
    """Pydantic's errors for the file's ``root`` model as ``FILE: KEY.PATH: message (line N)``."""
    for detail in error.errors(include_url=False):
        path = _clean_loc(detail["loc"], data)
        ctx = detail.get("ctx") or {}
        kind = detail["type"]
        if kind == "extra_forbidden":
            allowed = list(_allowed_keys(detail["loc"][:-1], root))
            key = str(detail["loc"][-1])
            close = difflib.get_close_matches(key, allowed, n=1)
            message = "unknown key; " + (f"did you mean '{close[0]}'? " if close else "")
            if key.lower() in CONNECTION_KEYS:
                message += "hosts and credentials belong in the Airflow connection named by conn_id; "
            message += f"allowed keys: {', '.join(allowed)}"
        elif kind == "config" and "key" in ctx:
            path = (*path, ctx["key"])
            message = ctx["message"]
        elif kind == "config":
            message = ctx["message"]
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            path = (*path, "type")
            expected = ctx.get("expected_tags", "")
            message = (
                f"unknown type {ctx.get('tag')!r}; one of {expected}"
                if kind == "union_tag_invalid"
                else f"required; one of {expected}"
            )
        elif kind == "missing" and path and path[-1] == "conn_id":
            message = "required: the id of the Airflow connection holding this server's host and credentials"
        elif kind == "missing":
            message = "required"
        elif kind == "string_pattern_mismatch" and ctx.get("pattern") in PATTERN_MEANINGS:
            message = f"{PATTERN_MEANINGS[ctx['pattern']]}, got {detail['input']!r}"
        elif kind == "value_error":
            message = detail["msg"].removeprefix("Value error, ")
        else:
            message = detail["msg"]
            message = message[0].lower() + message[1:]
            if not isinstance(detail.get("input"), dict | list):
                message += f", got {detail['input']!r}"
        yield ConfigProblem(file, path, message, lines.get(path) or _nearest_line(path, lines))


def _nearest_line(path: KeyPath, lines: dict[KeyPath, int]) -> int | None:
    while path:
        path = path[:-1]
        if path in lines and path:
            return lines[path]
    return None


def load_integration(path: Path) -> IntegrationFile:
    """One integration file, validated on its own (cross-file checks are :func:`load_folder`'s).

    Whatever goes wrong while loading it is a problem of this one file, never an exception that would
    stop the loading of the others (and with it every integration's DAG).
    """
    try:
        return _load_integration(path)
    except Exception as exc:  # isolating one file from the others is the point
        return IntegrationFile(
            path=path,
            problems=[ConfigProblem(path, (), f"cannot be loaded: {type(exc).__name__}: {exc}")],
        )


def _load_integration(path: Path) -> IntegrationFile:
    text, problems = read_text(path)
    data, lines, yaml_problems = parse_yaml(text, path) if not problems else (None, {}, [])
    result = IntegrationFile(path=path, text=text, problems=[*problems, *yaml_problems])
    if data is None and not result.problems:
        result.problems.append(ConfigProblem(path, (), "the file is empty"))
    if result.problems:
        return result
    if not isinstance(data, dict):
        result.problems.append(ConfigProblem(path, (), "expected a mapping of keys (name:, source:, ...)"))
        return result
    try:
        result.integration = Integration.model_validate(data)
    except ValidationError as exc:
        result.problems.extend(sorted(problems_from(exc, data, path, lines), key=lambda p: p.line or 0))
        return result
    result.problems.extend(_check_references(result.integration, path, lines))
    if result.problems:
        result.integration = None
    return result


def _check_references(
    integration: Integration, path: Path, lines: dict[KeyPath, int]
) -> Iterator[ConfigProblem]:
    """Checks that look outside the file: the mapping must exist, the features must be in this version,
    the folders must be safe to read, write and archive in (:mod:`invoice_hub.config.safety`)."""

    def problem(key_path: KeyPath, message: str) -> ConfigProblem:
        return ConfigProblem(path, key_path, message, lines.get(key_path))

    endpoints: list[tuple[KeyPath, Any]] = [(("source", "type"), integration.source)]
    endpoints += [(("destinations", i, "type"), d) for i, d in enumerate(integration.destinations)]
    endpoints += [
        (("customers", c, "destinations", i, "type"), d)
        for c, customer in enumerate(integration.customers)
        for i, d in enumerate(customer.destinations)
    ]
    for key_path, endpoint in endpoints:
        available = capabilities.TRANSPORTS
        if integration.accounting_source is not None and key_path[0] == "source":
            available = capabilities.ACCOUNTING_SOURCES
        if endpoint is not None and endpoint.type not in available:
            yield problem(
                key_path,
                f"{endpoint.type!r} is not available in this version of the hub; "
                f"available: {', '.join(sorted(available))}",
            )
    source = integration.file_source
    if source is not None and source.type == "pop3":
        for key in ("on_success", "on_failure"):
            if not isinstance(getattr(source, key), str):
                yield problem(
                    ("source", key),
                    "POP3 has no folders to move messages to; use keep or delete (or an imap source)",
                )
    transform = integration.transform
    if transform.output not in capabilities.OUTPUTS:
        yield problem(
            ("transform", "output"),
            f"{transform.output!r} is not available in this version of the hub; "
            f"available: {', '.join(sorted(capabilities.OUTPUTS))}",
        )
    if transform.validate_ not in capabilities.VALIDATIONS:
        yield problem(
            ("transform", "validate"),
            f"{transform.validate_!r} is not available in this version of "
            f"the hub; available: {', '.join(sorted(capabilities.VALIDATIONS))}",
        )
    if transform.mapping is not None:
        yield from _mapping_problems(problem, ("transform", "mapping"), transform.mapping, transform.output)
    for found in layout_problems(integration, path):
        yield problem(found.key_path, found.message)
    for index, customer in enumerate(integration.customers):
        mapping = customer.mapping or transform.mapping
        if customer.mapping is not None or (customer.output and mapping):
            output = customer.output or transform.output
            yield from _mapping_problems(problem, ("customers", index, "mapping"), mapping, output)


def _mapping_problems(
    problem: Callable[[KeyPath, str], ConfigProblem], key_path: KeyPath, name: str | None, output: str
) -> Iterator[ConfigProblem]:
    """The mapping file ``name`` exists and fits the ``output`` format."""
    folder = settings.mappings_dir()
    if name is None:
        return
    if Path(name).name != name:
        yield problem(key_path, f"a file name in {folder}, not a path")
    elif not (folder / name).is_file():
        yield problem(key_path, f"no mapping file {name!r} in {folder}")
    elif output == "passthrough":
        yield problem(key_path, "a mapping needs an output format; passthrough copies bytes")
    else:
        from invoice_hub.config.mappings import load_mapping, output_field_problems

        loaded = load_mapping(folder / name)
        yield from loaded.problems
        if loaded.mapping is not None:
            for message in output_field_problems(loaded.mapping, output):
                yield problem(key_path, f"{loaded.path}: {message}")


def integration_files(paths: Iterable[Path]) -> list[Path]:
    """The integration files among ``paths``: files as given, folders searched (not recursively)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.iterdir()
                    if p.suffix in INTEGRATION_SUFFIXES
                    and p.is_file()
                    and not p.name.startswith(".")
                    and p.name not in NOT_INTEGRATIONS
                )
            )
        else:
            found.append(path)
    return found


def load_folder(paths: Iterable[Path] | None = None) -> list[IntegrationFile]:
    """Every integration file, each valid or with its problems, names checked for uniqueness."""
    files = [load_integration(p) for p in integration_files(paths or [settings.integrations_dir()])]
    first_by_name: dict[str, IntegrationFile] = {}
    for entry in files:
        if entry.integration is None:
            continue
        name = entry.integration.name
        if name in first_by_name:
            other = first_by_name[name]
            entry.problems.append(
                ConfigProblem(
                    entry.path,
                    ("name",),
                    f"duplicate name {name!r}, also used by {other.path}; "
                    "names are dag_ids and must be unique",
                )
            )
            entry.integration = None
        else:
            first_by_name[name] = entry
    return files
