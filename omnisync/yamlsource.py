"""YAML with line numbers and ``${ENV}`` interpolation, validated into pydantic models.

Every error names the file, the line and the key path, e.g.
``omnisync.yaml:14: channels.webstore.allocation.buffer_units: must be ≥ 0``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from omnisync.sdk.errors import ConfigurationError

M = TypeVar("M", bound=BaseModel)
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigFileError(ConfigurationError):
    """One or more problems in a file, each as ``file:line: key.path: message`` (one per line)."""

    def __init__(self, file: str, line: int | None, path: str, message: str) -> None:
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {path}: {message}" if path else f"{where}: {message}")
        self.file = file
        self.line = line
        self.path = path
        self.problems = [str(self.args[0])]

    @classmethod
    def many(cls, errors: list[ConfigFileError]) -> ConfigFileError:
        """The first error, carrying every one (``str`` lists them a line each)."""
        first = errors[0]
        combined = cls(first.file, first.line, first.path, "")
        combined.problems = [p for e in errors for p in e.problems]
        combined.message = "\n".join(combined.problems)
        combined.args = (combined.message,)
        return combined


@dataclass
class YamlDoc:
    file: str
    data: Any
    lines: dict[tuple[str, ...], int] = field(default_factory=dict)
    from_env: set[tuple[str, ...]] = field(default_factory=set)
    """Key paths whose value came (wholly) from an ``${ENV}`` reference."""
    unset_env: dict[tuple[str, ...], str] = field(default_factory=dict)
    """Key paths (allowed by ``load_yaml(defer=...)``) whose variable is not set, with its name."""
    defer: Callable[[tuple[str, ...]], bool] | None = None
    nodes: int = 0
    """Nodes converted so far, aliases counted each time they are expanded (see MAX_NODES)."""

    def line_of(self, path: tuple[str, ...]) -> int | None:
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def error(self, path: tuple[str, ...], message: str) -> ConfigFileError:
        return ConfigFileError(self.file, self.line_of(path), ".".join(path), message)


def _interpolate(value: str, doc: YamlDoc, path: tuple[str, ...], env: Mapping[str, str]) -> str:
    def sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        if doc.defer is not None and doc.defer(path):
            doc.unset_env.setdefault(path, name)
            return match.group(0)
        raise doc.error(path, f"environment variable {name} is not set")

    if _ENV.fullmatch(value.strip()):
        doc.from_env.add(path)
    return _ENV.sub(sub, value)


MAX_NODES = 100_000
"""A config has hundreds of nodes; nested aliases (the "billion laughs") expand to billions."""


def _convert(node: yaml.Node, doc: YamlDoc, path: tuple[str, ...], env: Mapping[str, str]) -> Any:
    doc.lines[path] = node.start_mark.line + 1
    doc.nodes += 1
    if doc.nodes > MAX_NODES:
        raise doc.error(path, f"more than {MAX_NODES} values once aliases are expanded (nested aliases?)")
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(yaml.safe_load(yaml.serialize(key_node)))
            if key in out:
                raise ConfigFileError(
                    doc.file, key_node.start_mark.line + 1, ".".join((*path, key)), "duplicate key"
                )
            out[key] = _convert(value_node, doc, (*path, key), env)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, doc, (*path, str(i)), env) for i, item in enumerate(node.value)]
    value = yaml.safe_load(yaml.serialize(node))
    if isinstance(value, str) and "${" in value:
        value = _interpolate(value, doc, path, env)
    return value


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's message on one line: the problem and its column, then what it was parsing."""
    problem = getattr(exc, "problem", None)
    if not problem:
        return " ".join(str(exc).split())
    mark = getattr(exc, "problem_mark", None)
    where = f" at column {mark.column + 1}" if mark is not None else ""
    context = getattr(exc, "context", None)
    return f"{problem}{where}" + (f" ({context})" if context else "")


def load_yaml(
    path: Path,
    env: Mapping[str, str] | None = None,
    defer: Callable[[tuple[str, ...]], bool] | None = None,
) -> YamlDoc:
    """Read ``path``; an unset ``${VAR}`` at a key path ``defer`` accepts is kept as written and
    recorded in ``unset_env`` (a secret needed only when its channel is contacted)."""
    env = os.environ if env is None else env
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigFileError(name, None, "", f"cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigFileError(
            name, line, "", f"not UTF-8 (byte 0x{raw[exc.start]:02x}); save as UTF-8"
        ) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = mark.line + 1 if mark else None
        raise ConfigFileError(name, at, "", f"invalid YAML: {_yaml_problem(exc)}") from None
    doc = YamlDoc(name, {}, defer=defer)
    if node is not None:
        doc.data = _convert(node, doc, (), env)
    return doc


def _message(err: Mapping[str, Any]) -> str:
    msg = str(err["msg"])
    ctx = err.get("ctx") or {}
    if err.get("type") == "greater_than_equal":
        return f"must be ≥ {ctx.get('ge')}"
    if err.get("type") == "less_than_equal":
        return f"must be ≤ {ctx.get('le')}"
    if err.get("type") == "extra_forbidden":
        return "unknown key"
    if err.get("type") == "missing":
        return "required key is missing"
    return msg.removeprefix("Value error, ")


def validate(doc: YamlDoc, model: type[M], data: Any = None, prefix: tuple[str, ...] = ()) -> M:
    """Validate (part of) a document; every error is raised at once, each with file, line and key path."""
    try:
        return model.model_validate(doc.data if data is None else data, context={"doc": doc})
    except ValidationError as exc:
        problems = [
            doc.error((*prefix, *(str(p) for p in e["loc"])), _message(e))
            for e in exc.errors()[:MAX_PROBLEMS]
        ]
        raise ConfigFileError.many(problems) from None


MAX_PROBLEMS = 20
"""Problems reported per file (the rest follow once these are fixed)."""


def load_model(path: Path, model: type[M], env: Mapping[str, str] | None = None) -> tuple[M, YamlDoc]:
    doc = load_yaml(path, env)
    return validate(doc, model), doc
