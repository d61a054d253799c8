"""Rules are data: one loader for every YAML rules file (policies, playbooks, thresholds).

A rules file loads into a strict pydantic model (unknown keys refused). A bad file stops
start-up with an error that names the file, the path inside it, its line when known, and
what was expected, e.g. ``late_shipment.yaml: steps[2].action: 'refnd' is not one of ...``.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for every rules model: unknown keys are an error, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RulesError(ValueError):
    """A rules file is missing, unparsable or does not match its schema."""


def _line_index(node: yaml.Node, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map every path inside a YAML document to its 1-based line number."""
    lines = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            lines.update(_line_index(value_node, (*path, key_node.value)))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.update(_line_index(item, (*path, i)))
    return lines


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=64)
def _yaml(text: str) -> Any:
    """The data of a YAML text, parsed once per process (every session loads the same rules
    files; validation builds new, immutable models from it and never changes it)."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506  (a safe loader)


def parse_rules(text: str, model: type[M], source: str) -> M:
    """Parse YAML text into ``model``; errors name ``source``, the path and the line."""
    try:
        data = _yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise RulesError(f"{source}:{where} not valid YAML: {exc}") from exc
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        node = yaml.compose(text)  # the lines, for the message only
        lines = _line_index(node) if node is not None else {}
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = lines.get(loc) or lines.get(loc[:-1])
            at = f" (line {line})" if line else ""
            got = err.get("input")
            detail = err["msg"]
            if err["type"] == "extra_forbidden":
                allowed = ", ".join(_allowed_keys(model, loc[:-1]))
                detail = f"unknown key; allowed keys are: {allowed}"
            elif err["type"] in ("literal_error", "enum") and got is not None:
                detail = f"{got!r} is not one of {err.get('ctx', {}).get('expected', '')}"
            problems.append(f"{source}: {_format_loc(loc)}{at}: {detail}")
        raise RulesError("\n".join(problems)) from None


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ()) or (ann,)
        nxt = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if not nxt:
            return []
        current = nxt[0]
    return sorted(getattr(current, "model_fields", {}))


def load_rules(path: str | Path, model: type[M]) -> M:
    """Load a rules file from disk."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"{p}: cannot read rules file: {exc.strerror}") from exc
    return parse_rules(text, model, p.name)


def load_packaged_rules(package: str, name: str, model: type[M]) -> M:
    """Load a rules file shipped inside a package (the defaults)."""
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    return parse_rules(text, model, name)
