"""Callback requests checked at the server boundary, before any callback runs: one layer for every page.

The browser sends each callback's inputs and states to ``POST /_dash-update-component`` as JSON. A
hand-crafted request can put anything there (an int where a list is expected, a dict for a name, a
100,000-deep nested list, ``NaN``), and a callback that trusts its arguments then fails with HTTP 500.
:func:`install` adds one Flask ``before_request`` check that refuses such a request with **HTTP 400 and a
one-line message** (``text/plain``), so no callback is written defensively by hand:

- the envelope: a JSON object (no ``NaN``/``Infinity``, nesting at most :data:`MAX_DEPTH` deep) naming a
  registered *server* callback, with as many inputs and states as it declares, each naming the declared
  component (or one matching its pattern) and property;
- each value against the type its **component property accepts**: the annotation of the component class's
  ``__init__`` (Dash generates them from the React prop types), checked strictly with pydantic, so a
  string is not a number and a bool is not a count. A ``dcc.Dropdown`` is refined by its ``multi`` flag
  (a list when multi, else one value), as in Dash's own MCP prop roles, and a ``dcc.Location`` path
  starts with ``/`` (Dash's page router raises on any other). Integers beyond 2^53 are refused too: a
  browser's JSON cannot carry them. Which component class an id
  belongs to is derived once per app from the layouts: the shell, then each page layout the first time
  one of its ids is asked about (:class:`ComponentIndex`);
- each value against the **callback's own parameter annotation** when it has one (``list``, ``dict |
  None``...), always allowing ``null`` (the renderer sends it for a prop that is not set).

A component the layouts do not hold (one a callback creates) is checked by the envelope and the callback's
annotation only. Authentication runs first (:func:`install` is called after ``service.install_auth``).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import threading
import typing
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

import dash
import flask
from dash.development.base_component import Component
from pydantic import TypeAdapter, ValidationError

UPDATE_ROUTE = "_dash-update-component"
MAX_DEPTH = 24
"""Deepest nesting of lists/objects a callback request may hold (the renderer's deepest is ~6)."""
MAX_SHOWN = 60
"""Characters of a refused value or id quoted in the message."""
WILDCARDS = frozenset({"ALL", "MATCH", "ALLSMALLER"})
EXTENSION_KEY = "fabscope_callback_guard"


class Refused(Exception):
    """A callback request that does not fit its callback: ``message`` is the one line sent back."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer a browser's JSON can carry exactly (JavaScript ``Number.MAX_SAFE_INTEGER``)."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _safe_int(text: str) -> int:
    if len(text.lstrip("-")) > 16 or abs(value := int(text)) > MAX_SAFE_INTEGER:
        raise ValueError(f"integer {text[:20]}{'…' if len(text) > 20 else ''} is beyond what a browser sends")
    return value


def parse_body(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object; :class:`Refused` for anything else (bad JSON, NaN, too deep)."""
    try:
        body = json.loads(raw or b"null", parse_constant=_reject_constant, parse_int=_safe_int)
    except RecursionError:
        raise Refused(f"callback request: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise Refused(f"callback request: not valid JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(body, dict):
        raise Refused("callback request: expected a JSON object")
    if _depth(body) > MAX_DEPTH:
        raise Refused(f"callback request: nested deeper than {MAX_DEPTH} levels")
    return body


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value, iteratively (a scalar is 0)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


# ---- which component an id names --------------------------------------------------------------
def _canonical(component_id: Any) -> str:
    return json.dumps(component_id, sort_keys=True) if isinstance(component_id, dict) else str(component_id)


def _walk(node: Any) -> Iterator[Component]:
    if isinstance(node, Component):
        yield node
        yield from node._traverse()
    elif isinstance(node, list | tuple):
        for item in node:
            yield from _walk(item)


class ComponentIndex:
    """Component instances by id: the shell layout at once, page layouts rendered one by one on demand.

    A page layout is rendered (once) only when an id is not yet known, so a first visit pays for at most
    the pages before the one it needs; :meth:`complete` renders the rest."""

    def __init__(self, shell: Any, pages: dict[str, Callable[[], Any]] | None = None) -> None:
        self.by_id: dict[str, Component] = {}
        self.patterned: list[tuple[dict[str, Any], Component]] = []
        self._pending = dict(pages or {})  # page module -> its layout, not rendered yet
        self._lock = threading.Lock()
        self.add(shell)

    def add(self, root: Any) -> None:
        """Record every component with an id under ``root`` (the first seen wins)."""
        with self._lock:
            for comp in _walk(root):
                cid = getattr(comp, "id", None)
                if cid is None:
                    continue
                if _canonical(cid) not in self.by_id and isinstance(cid, dict):
                    self.patterned.append((cid, comp))
                self.by_id.setdefault(_canonical(cid), comp)

    def _render_next(self, first: str | None = None) -> bool:
        """Render page ``first`` if still pending, else the next pending page; False when none is left."""
        with self._lock:
            if not self._pending:
                return False
            render = self._pending.pop(first if first in self._pending else next(iter(self._pending)))
        # a page that cannot render now: its inputs get the envelope and annotation checks only
        with contextlib.suppress(Exception):
            self.add(render())
        return True

    def complete(self) -> ComponentIndex:
        """Render every page not rendered yet; returns self."""
        while self._render_next():
            pass
        return self

    def _lookup(self, component_id: Any, pattern: dict[str, Any] | None) -> Component | None:
        found = self.by_id.get(_canonical(component_id))
        if found is not None or pattern is None:
            return found
        fixed = {k: v for k, v in pattern.items() if not _is_wildcard(v)}
        for cid, comp in self.patterned:
            if cid.keys() == pattern.keys() and all(cid[k] == v for k, v in fixed.items()):
                return comp
        return None

    def find(
        self, component_id: Any, pattern: dict[str, Any] | None, page: str | None = None
    ) -> Component | None:
        """The layout component with ``component_id``, else one matching the callback's ``pattern``;
        ``page``: the module of the page most likely to hold it (the callback's), rendered first."""
        while (found := self._lookup(component_id, pattern)) is None and self._render_next(page):
            pass
        return found


def _page_renders() -> dict[str, Callable[[], Any]]:
    def render(layout: Any) -> Callable[[], Any]:
        return lambda: layout() if callable(layout) else layout

    return {str(page.get("module")): render(page.get("layout")) for page in dash.page_registry.values()}


# ---- accepted types ------------------------------------------------------------------------------
@lru_cache(maxsize=512)
def _prop_adapter(cls: type, prop: str) -> TypeAdapter | None:
    try:
        param = inspect.signature(cls.__init__).parameters.get(prop)
    except (TypeError, ValueError):
        return None
    if param is None or param.annotation is inspect.Parameter.empty:
        return None
    try:
        return TypeAdapter(param.annotation)
    except Exception:  # an annotation pydantic cannot express: no check
        return None


_SCALAR = TypeAdapter(str | int | float | None)
_SCALARS = TypeAdapter(list[str | int | float] | None)


def _check_prop(comp: Component, prop: str, value: Any) -> str | None:
    """Why ``value`` is not a value of ``comp``'s property ``prop`` (None if it is)."""
    if value is None:
        return None
    if isinstance(comp, dash.dcc.Location) and prop == "pathname":  # the router needs a path
        return None if isinstance(value, str) and value.startswith("/") else "expected a path starting with /"
    if isinstance(comp, dash.dcc.Dropdown) and prop == "value":
        adapter = _SCALARS if getattr(comp, "multi", False) else _SCALAR
        expected = "a list of options" if getattr(comp, "multi", False) else "one option"
    else:
        adapter, expected = _prop_adapter(type(comp), prop), None
    if adapter is None:
        return None
    try:
        adapter.validate_python(value, strict=True)
    except ValidationError as exc:
        return f"expected {expected}" if expected else exc.errors()[0]["msg"].lower()
    return None


@lru_cache(maxsize=256)
def _callback_adapters(func: Callable[..., Any], skip: int) -> tuple[TypeAdapter | None, ...] | None:
    """Per-argument adapters from ``func``'s annotations (each made nullable), or None if unusable."""
    try:
        hints = typing.get_type_hints(func)
        params = list(inspect.signature(func).parameters.values())[skip:]
    except Exception:
        return None
    if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params):
        return None
    adapters: list[TypeAdapter | None] = []
    for p in params:
        hint = hints.get(p.name)
        try:
            adapters.append(None if hint in (None, Any) else TypeAdapter(typing.Optional[hint]))  # noqa: UP045
        except Exception:
            adapters.append(None)
    return tuple(adapters)


def declared_outputs(output: str) -> list[dict[str, str]]:
    """``[{"id", "property"}]`` of a callback's output key (``a.b`` or ``..a.b...c.d..``), as Dash writes it."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [dict(zip(("id", "property"), part.rsplit(".", 1), strict=False)) for part in parts]


# ---- the request -----------------------------------------------------------------------------------
def _is_wildcard(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 1 and value[0] in WILDCARDS


def _pattern(dep_id: str) -> dict[str, Any] | None:
    if not dep_id.startswith("{"):
        return None
    try:
        parsed = json.loads(dep_id)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _id_fits(given: Any, dep_id: str, pattern: dict[str, Any] | None) -> bool:
    if pattern is None:
        return isinstance(given, str) and given == dep_id
    if not isinstance(given, dict) or given.keys() != pattern.keys():
        return False
    for key, want in pattern.items():
        got = given[key]
        if _is_wildcard(want):
            if not isinstance(got, str | int | float) or isinstance(got, bool):
                return False
        elif got != want:
            return False
    return True


class CallbackGuard:
    """The check of one app's callback requests (see the module docstring)."""

    def __init__(self, app: dash.Dash) -> None:
        self.app = app
        self._index: ComponentIndex | None = None
        self._lock = threading.Lock()

    def index(self) -> ComponentIndex:
        """The component index of this app, made on first use (pages are rendered as ids are needed)."""
        with self._lock:
            if self._index is None:
                self._index = ComponentIndex(self.app.layout, _page_renders())
            return self._index

    def check(self, body: dict[str, Any]) -> None:
        """:class:`Refused` unless ``body`` is a well-typed request for a registered server callback."""
        output = body.get("output")
        if not isinstance(output, str):
            raise Refused("callback request: 'output' must be a string")
        spec = self.app.callback_map.get(output)
        if spec is None or spec.get("callback") is None:
            raise Refused(f"callback request: no server callback has output {_shown(output)}")
        deps = [*spec.get("inputs", []), *spec.get("state", [])]
        given: list[Any] = []
        for part, declared in (("inputs", spec.get("inputs", [])), ("state", spec.get("state", []))):
            entries = body.get(part, [])
            if not isinstance(entries, list) or len(entries) != len(declared):
                raise Refused(
                    f"callback {_shown(output)}: expected {len(declared)} {part}, not {_shown(entries)}"
                )
            given.extend(entries)
        changed = body.get("changedPropIds", [])
        if not isinstance(changed, list) or not all(isinstance(p, str) for p in changed):
            raise Refused("callback request: 'changedPropIds' must be a list of strings")
        self._check_outputs(body.get("outputs"), output)
        page = getattr(inspect.unwrap(spec["callback"]), "__module__", None)
        values = [self._check_dep(entry, dep, output, page) for entry, dep in zip(given, deps, strict=True)]
        self._check_annotations(spec, values, deps)

    def _check_outputs(self, given: Any, output: str) -> None:
        """The request's ``outputs`` name the callback's declared outputs, in order."""
        declared = declared_outputs(output)
        items = given if output.startswith("..") else [given]
        if not isinstance(items, list) or len(items) != len(declared):
            raise Refused(f"callback {_shown(output)}: 'outputs' does not list its {len(declared)} output(s)")
        for item, dep in zip(items, declared, strict=True):
            pattern = _pattern(dep["id"])
            many = pattern is not None and any(_is_wildcard(v) and v[0] != "MATCH" for v in pattern.values())
            for one in item if many and isinstance(item, list) else [item]:
                if (
                    not isinstance(one, dict)
                    or not _id_fits(one.get("id"), dep["id"], pattern)
                    or one.get("property") != dep["property"]
                ):
                    raise Refused(
                        f"callback {_shown(output)}: output {dep['id']}.{dep['property']} is named wrongly"
                    )

    def _check_dep(self, entry: Any, dep: dict[str, Any], output: str, page: str | None) -> Any:
        """The value(s) of one declared input/state after checking shape, id, property and type."""
        pattern = _pattern(dep["id"])
        many = pattern is not None and any(_is_wildcard(v) and v[0] != "MATCH" for v in pattern.values())
        if many:
            if not isinstance(entry, list):
                raise Refused(
                    f"callback {_shown(output)}: {dep['id']}.{dep['property']} expects a list of items"
                )
            return [self._check_item(item, dep, pattern, page) for item in entry]
        return self._check_item(entry, dep, pattern, page)

    def _check_item(
        self, item: Any, dep: dict[str, Any], pattern: dict[str, Any] | None, page: str | None
    ) -> Any:
        where = f"{dep['id']}.{dep['property']}"
        if not isinstance(item, dict) or not _id_fits(item.get("id"), dep["id"], pattern):
            raise Refused(f"input {where}: the request names another component ({_shown(item)})")
        if item.get("property") != dep["property"]:
            raise Refused(f"input {where}: the request names property {_shown(item.get('property'))}")
        value = item.get("value")
        if dep["property"] == "id" and value is not None and value != item["id"]:
            raise Refused(f"input {where} = {_shown(value)}: a component's id property is its own id")
        comp = self.index().find(item["id"], pattern, page)
        problem = _check_prop(comp, dep["property"], value) if comp is not None else None
        if problem:
            raise Refused(
                f"input {where} = {_shown(value)}: {problem} ({type(comp).__name__}.{dep['property']})"
            )
        return value

    def _check_annotations(self, spec: dict[str, Any], values: list[Any], deps: list) -> None:
        func = inspect.unwrap(spec["callback"])
        skip = 1 if spec.get("background") and spec["background"].get("progress") else 0
        adapters = _callback_adapters(func, skip)
        if adapters is None or len(adapters) != len(values):
            return
        for adapter, value, dep in zip(adapters, values, deps, strict=True):
            if adapter is None:
                continue
            try:
                adapter.validate_python(value)
            except ValidationError as exc:
                raise Refused(
                    f"input {dep['id']}.{dep['property']} = {_shown(value)}: {exc.errors()[0]['msg'].lower()}"
                ) from None


def refusal(message: str) -> flask.Response:
    """The HTTP 400 answer: the one line, as plain text."""
    return flask.Response(message.replace("\n", " ") + "\n", status=400, mimetype="text/plain")


def install(app: dash.Dash) -> CallbackGuard:
    """Check every callback request of ``app`` before Dash dispatches it (HTTP 400 with one line if refused)."""
    guard = CallbackGuard(app)
    app.server.extensions[EXTENSION_KEY] = guard
    route = app.config.routes_pathname_prefix + UPDATE_ROUTE

    @app.server.before_request
    def _check_callback_request() -> flask.Response | None:
        if flask.request.method != "POST" or flask.request.path != route:
            return None
        try:
            guard.check(parse_body(flask.request.get_data(cache=True)))
        except Refused as exc:
            return refusal(exc.message)
        return None

    return guard
