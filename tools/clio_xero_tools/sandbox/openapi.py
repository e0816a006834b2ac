"""Check JSON bodies against the official Clio and Xero OpenAPI documents.

The documents live read-only in ``shared/specs`` next to the repository (see its README). Neither
passes a strict OpenAPI validator, so instead of an OpenAPI library this module validates bodies
with ``jsonschema`` directly against the document's schemas, after translating the OpenAPI 3.0
dialect into plain JSON Schema (Draft 7; Draft 2020-12 for the 3.1 webhooks document)::

    v = SpecValidator.for_spec("clio")
    errors = v.validate_response("GET", "/api/v4/contacts.json", 200, body)
    assert not errors, errors

Every check returns a list of readable strings (``"$.data[0].id: ... is not of type 'integer'"``);
an empty list means valid. A method, path or status the document does not describe gives
``["undocumented: GET /path 200"]`` rather than a silent pass, so callers decide what it means.

Translations applied to the documents (why: the live APIs, not the letter of the documents):

* OpenAPI 3.0 ``nullable: true`` becomes "or null"; ``default`` and ``example`` are dropped (Xero
  writes boolean defaults as strings); ``format`` is never enforced (Xero's webhook timestamps such
  as ``2024-06-21T01:15:39.902`` carry no offset, Xero dates are ``/Date(...)/`` strings);
  boolean ``exclusiveMinimum``/``exclusiveMaximum`` become the Draft 7 numeric form.
* Clio's document never says ``nullable``, yet the live API sends ``null`` for every unset field
  (``"middle_name": null``, ``"company": null``). For ``clio`` every *property* therefore also
  accepts ``null``; a present non-null value must still have the documented type and enum.
* Xero matches URL paths case-insensitively (the identity document says ``/Connections``, clients
  call ``/connections``), so Xero path templates are matched ignoring case.
* YAML timestamps are kept as strings so the parsed document is plain JSON.

Nothing is read at import time; documents load on first use and are cached per process.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import quote, urlsplit

import yaml
from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry
from referencing.jsonschema import DRAFT7, DRAFT202012

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "SpecName",
    "SpecValidator",
    "find_specs_dir",
    "load_spec_document",
]

SpecName = Literal["clio", "xero_accounting", "xero_webhooks", "xero_identity"]

_SPEC_FILES: dict[str, str] = {
    "clio": "clio/openapi.json",
    "xero_accounting": "xero/xero_accounting.yaml",
    "xero_webhooks": "xero/xero-webhooks.yaml",
    "xero_identity": "xero/xero-identity.yaml",
}
_SPECS_ENV = "CLIO_XERO_SPECS_DIR"
_MARKER = Path("clio") / "openapi.json"
_MAX_ERRORS = 25
_MAX_MESSAGE = 300
_JSON_MEDIA = re.compile(r"^application/(?:[\w.+-]+\+)?json$")
_PARAM = re.compile(r"\{[^{}/]+\}")


# --------------------------------------------------------------------------- locating and loading


def find_specs_dir() -> Path:
    """Return the specs folder: ``$CLIO_XERO_SPECS_DIR``; else the team's ``shared/specs`` found
    walking up from this file and from the working directory (``<repo>/../shared/specs``); else
    the copies vendored in the repository (``<repo>/specs``, see specs/README.md)."""
    env = os.environ.get(_SPECS_ENV)
    if env:
        path = Path(env).expanduser()
        if not (path / _MARKER).is_file():
            raise FileNotFoundError(f"{_SPECS_ENV}={env!r} does not contain {_MARKER}")
        return path.resolve()
    starts = [Path(__file__).resolve().parent, Path.cwd().resolve()]
    for start in starts:
        for folder in (start, *start.parents):
            candidate = folder / "shared" / "specs"
            if (candidate / _MARKER).is_file():
                return candidate
    # openapi.py -> sandbox -> clio_xero -> shared -> <repo>/specs
    vendored = Path(__file__).resolve().parents[3] / "specs"
    if (vendored / _MARKER).is_file():
        return vendored
    raise FileNotFoundError(
        "OpenAPI specs not found: no shared/specs/clio/openapi.json above "
        f"{' or '.join(str(s) for s in starts)}; set {_SPECS_ENV} to the specs folder"
    )


def _repo_root() -> Path:
    # openapi.py -> sandbox -> clio_xero -> shared -> <repo>; the editable install keeps this layout.
    root = Path(__file__).resolve().parents[3]
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


class _YamlLoader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """Safe loader (libyaml when available) that keeps timestamps as strings, as JSON would."""


_YamlLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


def load_spec_document(name: SpecName) -> dict[str, Any]:
    """Parse one spec document as plain JSON data (YAML parses are cached under ``.cache/specs``)."""
    try:
        rel = _SPEC_FILES[name]
    except KeyError:
        raise ValueError(f"unknown spec {name!r}; expected one of {sorted(_SPEC_FILES)}") from None
    source = find_specs_dir() / rel
    raw = source.read_bytes()
    if source.suffix == ".json":
        return cast(dict[str, Any], json.loads(raw))
    # Parsing the 926 KB Xero YAML costs ~0.2 s even with libyaml; json.loads of the cache ~30 ms.
    cache = _repo_root() / ".cache" / "specs" / f"{name}.{hashlib.sha256(raw).hexdigest()}.json"
    try:
        return cast(dict[str, Any], json.loads(cache.read_bytes()))
    except (OSError, ValueError):
        pass
    document = cast(dict[str, Any], yaml.load(raw, Loader=_YamlLoader))  # noqa: S506 - safe loader subclass
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(document, default=str), encoding="utf-8")
        tmp.replace(cache)  # atomic, so a concurrent reader never sees half a file
    except OSError:
        pass  # a read-only checkout only loses the speed-up
    return document


# --------------------------------------------------------------------------- OpenAPI -> JSON Schema


class _Normalizer:
    """Rewrites the schemas of an OpenAPI document in place into plain JSON Schema."""

    _MAP_KEYWORDS = ("properties", "patternProperties", "definitions", "$defs", "dependentSchemas")
    _LIST_KEYWORDS = ("allOf", "anyOf", "oneOf", "prefixItems")
    _ONE_KEYWORDS = ("not", "additionalProperties", "additionalItems", "contains", "if", "then", "else")
    _DROP = ("default", "example", "examples", "nullable")

    def __init__(self, *, openapi30: bool, nullable_properties: bool) -> None:
        self.openapi30 = openapi30
        self.nullable_properties = nullable_properties

    def document(self, node: Any, key: str = "") -> None:
        """Walk the non-schema part of the document and normalize every schema found in it."""
        if isinstance(node, dict):
            for k, value in node.items():
                if k in ("example", "examples", "description"):
                    continue
                if k == "schema" and isinstance(value, dict):
                    node[k] = self.schema(value)
                elif k == "schemas" and key == "components" and isinstance(value, dict):
                    for name, sub in value.items():
                        if isinstance(sub, dict):
                            value[name] = self.schema(sub)
                else:
                    self.document(value, k)
        elif isinstance(node, list):
            for item in node:
                self.document(item, key)

    def schema(self, node: dict[str, Any], *, is_property: bool = False) -> dict[str, Any]:
        self._children(node)
        if not self.openapi30:
            for k in ("example", "default"):
                node.pop(k, None)
            return node
        nullable = node.get("nullable") is True or (is_property and self.nullable_properties)
        for k in self._DROP:
            node.pop(k, None)
        for bound in ("Minimum", "Maximum"):
            flag = node.get(f"exclusive{bound}")
            if isinstance(flag, bool):  # OpenAPI 3.0 / Draft 4 boolean form
                del node[f"exclusive{bound}"]
                if flag and node.get(bound.lower()) is not None:
                    node[f"exclusive{bound}"] = node.pop(bound.lower())
        return self._allow_null(node) if nullable else node

    def _children(self, node: dict[str, Any]) -> None:
        for k in self._MAP_KEYWORDS:
            sub = node.get(k)
            if isinstance(sub, dict):
                prop = k == "properties"
                node[k] = {n: self.schema(s, is_property=prop) if isinstance(s, dict) else s for n, s in sub.items()}
        for k in self._LIST_KEYWORDS:
            sub = node.get(k)
            if isinstance(sub, list):
                node[k] = [self.schema(s) if isinstance(s, dict) else s for s in sub]
        for k in self._ONE_KEYWORDS:
            sub = node.get(k)
            if isinstance(sub, dict):
                node[k] = self.schema(sub)
        items = node.get("items")
        if isinstance(items, dict):
            node["items"] = self.schema(items)
        elif isinstance(items, list):
            node["items"] = [self.schema(s) if isinstance(s, dict) else s for s in items]

    @staticmethod
    def _allow_null(node: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in node or any(k in node for k in ("allOf", "anyOf", "oneOf", "not")):
            # Draft 7 ignores siblings of $ref, and a composed schema has no single type to widen.
            # if/else rather than anyOf[node, null]: errors inside `node` then keep their own
            # instance paths instead of collapsing into one "not valid under any" at the parent.
            return {"if": {"type": "null"}, "else": node}
        kind = node.get("type")
        if isinstance(kind, str):
            node["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            node["type"] = [*kind, "null"]
        enum = node.get("enum")
        if isinstance(enum, list) and None not in enum:
            node["enum"] = [*enum, None]
        return node


# --------------------------------------------------------------------------- the validator


def _pointer(*segments: str) -> str:
    """A URI fragment JSON pointer; escapes ``~`` ``/`` (RFC 6901) and then URI-unsafe characters."""
    return "#" + "".join("/" + quote(s.replace("~", "~0").replace("/", "~1"), safe="~") for s in segments)


def _json_path(parts: Iterable[Any]) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def _short(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def _format_error(error: Any) -> str:
    message = _short(error.message)
    if error.context:
        # oneOf/anyOf over objects: name the deeper problem of the branch that came closest.
        best = best_match(error.context)
        if list(best.absolute_path) != list(error.absolute_path):
            message += f" (closest: {_json_path(best.absolute_path)}: {_short(best.message)})"
    return f"{_json_path(error.absolute_path)}: {message}"


class _Route:
    __slots__ = ("item", "params", "regex", "template")

    def __init__(self, template: str, item: Mapping[str, Any], *, ignore_case: bool) -> None:
        self.template = template
        self.item = item
        self.params = len(_PARAM.findall(template))
        pattern = "".join(
            "[^/]+" if _PARAM.fullmatch(piece) else re.escape(piece) for piece in re.split(r"(\{[^{}/]+\})", template)
        )
        self.regex = re.compile(pattern, re.IGNORECASE if ignore_case else 0)


class SpecValidator:
    """Validates bodies against one OpenAPI document. Build with :meth:`for_spec` (cached)."""

    def __init__(
        self,
        name: str,
        document: dict[str, Any],
        *,
        nullable_properties: bool = False,
        ignore_case_paths: bool = False,
    ) -> None:
        """``document`` is normalized in place (see the module docstring); pass a fresh parse."""
        self.name = name
        doc = document
        version = str(doc.get("openapi", "3.0"))
        self.openapi31 = version.startswith("3.1")
        _Normalizer(openapi30=not self.openapi31, nullable_properties=nullable_properties).document(doc)
        self.document = doc
        self._uri = f"https://clio-xero.invalid/specs/{name}.json"
        spec = DRAFT202012 if self.openapi31 else DRAFT7
        self._validator_cls: Any = Draft202012Validator if self.openapi31 else Draft7Validator
        self._registry: Registry[Any] = Registry().with_resource(self._uri, spec.create_resource(doc))
        servers = doc.get("servers") or [{}]
        self.base_path = urlsplit(str(servers[0].get("url", ""))).path.rstrip("/")
        self._ignore_case = ignore_case_paths
        routes = [
            _Route(t, item, ignore_case=ignore_case_paths)
            for t, item in (doc.get("paths") or {}).items()
            if isinstance(item, dict)
        ]
        # OpenAPI: concrete paths win over templated ones ("/bills/ids.json" before "/bills/{id}.json").
        routes.sort(key=lambda r: (r.params, -len(r.template)))
        self._routes = routes
        self._validators: dict[str, Any] = {}
        self._lock = threading.Lock()
        # (schema pointer, digest of the body's canonical JSON) of bodies found valid (_validate).
        self._valid: set[tuple[str, bytes]] = set()

    # ------------------------------------------------------------------ construction

    @classmethod
    def for_spec(cls, name: SpecName) -> SpecValidator:
        """The process-wide validator for one of the documents in ``shared/specs``."""
        with _load_lock:  # a second thread asking during the load waits for the cached result
            return _for_spec(name)

    # ------------------------------------------------------------------ public checks

    def validate_response(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Check a response ``body`` (parsed JSON; ``None`` for no body) for ``method path``.

        ``path`` is what the client sent (``/api/v4/contacts/12.json?fields=id``, a full URL works
        too); the server base path is stripped. The response is looked up by exact status, then
        ``2XX``-style range, then ``default``.
        """
        undocumented = [f"undocumented: {method.upper()} {path} {status}"]
        found = self._operation(method, path)
        if found is None:
            return undocumented
        template, verb, operation = found
        responses = operation.get("responses") or {}
        for key in (str(status), f"{str(status)[:1]}XX", f"{str(status)[:1]}xx", "default"):
            if key in responses:
                break
        else:
            return undocumented
        response = self._deref(responses[key])
        media = self._json_media(response)
        if media is None:
            # A documented response without a JSON body (204, a PDF, ...) only matches no body.
            return [] if body is None else [*undocumented[:1], "(no JSON body documented)"]
        ref = self._ref_of(responses[key], ("paths", template, verb, "responses", key))
        return self._validate(_pointer_join(ref, "content", media, "schema"), body)

    def validate_request(self, method: str, path: str, body: Any) -> list[str]:
        """Check a JSON request body a client sends (``undocumented`` if none is described)."""
        undocumented = [f"undocumented: {method.upper()} {path} request body"]
        found = self._operation(method, path)
        if found is None or "requestBody" not in found[2]:
            return undocumented
        template, verb, operation = found
        media = self._json_media(self._deref(operation["requestBody"]))
        if media is None:
            return undocumented
        ref = self._ref_of(operation["requestBody"], ("paths", template, verb, "requestBody"))
        return self._validate(_pointer_join(ref, "content", media, "schema"), body)

    def validate_webhook(self, webhook: str, body: Any) -> list[str]:
        """Check a webhook payload against an OpenAPI 3.1 ``webhooks`` entry (e.g. Xero's
        ``contacts``, ``invoices``, ``creditNotes``, ``subscriptions``)."""
        item = (self.document.get("webhooks") or {}).get(webhook)
        operation = item.get("post") if isinstance(item, dict) else None
        if not isinstance(operation, dict) or "requestBody" not in operation:
            return [f"undocumented: webhook {webhook}"]
        media = self._json_media(self._deref(operation["requestBody"]))
        if media is None:
            return [f"undocumented: webhook {webhook}"]
        ref = self._ref_of(operation["requestBody"], ("webhooks", webhook, "post", "requestBody"))
        return self._validate(_pointer_join(ref, "content", media, "schema"), body)

    def validate_schema(self, schema_name: str, instance: Any) -> list[str]:
        """Check ``instance`` against ``components/schemas/<schema_name>``."""
        if schema_name not in (self.document.get("components") or {}).get("schemas", {}):
            raise KeyError(f"{self.name}: no components/schemas/{schema_name}")
        return self._validate(_pointer("components", "schemas", schema_name), instance)

    def assert_response_valid(
        self, method: str, path: str, status: int, body: Any, *, allow_undocumented: bool = False
    ) -> None:
        """Raise ``AssertionError`` listing the problems (handy in sandbox tests)."""
        errors = self.validate_response(method, path, status, body)
        if allow_undocumented and errors and errors[0].startswith("undocumented:"):
            return
        if errors:
            raise AssertionError(f"{self.name} {method.upper()} {path} {status}:\n  " + "\n  ".join(errors))

    def match_path(self, path: str) -> str | None:
        """The document's path template a concrete request path falls under, if any."""
        routes = self._routes_for(path)
        return routes[0].template if routes else None

    # ------------------------------------------------------------------ internals

    def _routes_for(self, path: str) -> list[_Route]:
        parts = urlsplit(path)
        local = parts.path or "/"
        base = self.base_path
        if base:
            head = local[: len(base)]
            same = head.lower() == base.lower() if self._ignore_case else head == base
            if same and (len(local) == len(base) or local[len(base)] == "/"):
                local = local[len(base) :] or "/"
        return [r for r in self._routes if r.regex.fullmatch(local)]

    def _operation(self, method: str, path: str) -> tuple[str, str, dict[str, Any]] | None:
        verb = method.lower()
        # Several templates can match ("/Accounts/{AccountID}/Attachments/{FileName}" and
        # ".../{AttachmentID}"); take the first one that documents this method.
        for route in self._routes_for(path):
            operation = route.item.get(verb)
            if isinstance(operation, dict):
                return route.template, verb, operation
        return None

    def _deref(self, node: Any) -> dict[str, Any]:
        """Follow local ``$ref``s of non-schema objects (responses, request bodies)."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 20:
            node = self._registry.resolver(self._uri).lookup(node["$ref"]).contents
            seen += 1
        return node if isinstance(node, dict) else {}

    def _ref_of(self, node: Any, where: tuple[str, ...]) -> str:
        """Pointer to a (possibly ``$ref``-ed) response/request body object, for the registry."""
        ref = _pointer(*where)
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 20:
            ref = node["$ref"]
            node = self._registry.resolver(self._uri).lookup(ref).contents
            seen += 1
        return ref

    @staticmethod
    def _json_media(obj: Mapping[str, Any]) -> str | None:
        for media in obj.get("content") or {}:
            if _JSON_MEDIA.match(media.split(";", 1)[0].strip().lower()):
                return str(media)
        return None

    def _validate(self, pointer: str, instance: Any) -> list[str]:
        validator = self._validators.get(pointer)
        if validator is None:
            with self._lock:
                validator = self._validators.get(pointer)
                if validator is None:
                    schema = {"$ref": f"{self._uri}{pointer}"}
                    validator = self._validator_cls(schema, registry=self._registry)
                    self._validators[pointer] = validator
        # The same body checked against the same schema always gets the same answer, and the test
        # worlds serve many identical bodies (the same record read again, the same empty page): a
        # valid body is remembered by its canonical JSON, so it is not walked again (measured in
        # docs/testing.md). Only valid bodies are remembered, so every error is still reported.
        try:
            digest = hashlib.blake2b(
                json.dumps(instance, sort_keys=True, separators=(",", ":")).encode(), digest_size=16
            ).digest()
        except (TypeError, ValueError):  # not JSON (a caller's mistake): validate, never remember
            digest = None
        if digest is not None and (pointer, digest) in self._valid:
            return []
        errors = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
        lines = [_format_error(e) for e in errors[:_MAX_ERRORS]]
        if len(errors) > _MAX_ERRORS:
            lines.append(f"... and {len(errors) - _MAX_ERRORS} more errors")
        if not lines and digest is not None:
            with self._lock:
                if len(self._valid) >= _MAX_REMEMBERED_VALID:
                    self._valid.clear()
                self._valid.add((pointer, digest))
        return lines


def _pointer_join(ref: str, *segments: str) -> str:
    """Extend a ``#/a/b`` pointer with more (escaped) segments."""
    return ref + _pointer(*segments)[1:]


_load_lock = threading.RLock()
_MAX_REMEMBERED_VALID = 200_000  # about 10 MB of digests; the set starts again when full


@functools.cache  # = lru_cache(maxsize=None): one validator per spec per process
def _for_spec(name: SpecName) -> SpecValidator:
    return SpecValidator(
        name,
        load_spec_document(name),
        nullable_properties=name == "clio",
        ignore_case_paths=name.startswith("xero"),
    )
