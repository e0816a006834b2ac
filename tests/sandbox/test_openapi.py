"""The OpenAPI body validator against the official Clio and Xero documents in shared/specs."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import TYPE_CHECKING, Any

import pytest

from clio_xero_tools.sandbox import openapi
from clio_xero_tools.sandbox.openapi import SpecValidator, find_specs_dir, load_spec_document

if TYPE_CHECKING:
    from pathlib import Path

UUID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
TENANT = "fe79f7dd-b6d4-4a92-ba7b-538af6289c58"

CLIO_CONTACT: dict[str, Any] = {
    "id": 1,
    "etag": '"abc"',
    "name": "Ann Smith",
    "first_name": "Ann",
    "middle_name": None,  # the live API sends null for unset fields; the spec never says nullable
    "last_name": "Smith",
    "type": "Person",
    "created_at": "2024-01-01T00:00:00+00:00",
    "updated_at": "2024-01-01T00:00:00+00:00",
    "is_client": True,
    "company": None,
    "email_addresses": [{"id": 3, "etag": '"e"', "address": "a@b.c", "name": "Work", "primary": True}],
}

WEBHOOK_EVENT: dict[str, Any] = {
    "events": [
        {
            "resourceUrl": f"https://api.xero.com/api.xro/2.0/Contacts/{UUID}",
            "resourceId": UUID,
            "eventDateUtc": "2024-06-21T01:15:39.902",
            "eventType": "UPDATE",
            "eventCategory": "CONTACT",
            "tenantId": TENANT,
            "tenantType": "ORGANISATION",
        }
    ],
    "lastEventSequence": 1,
    "firstEventSequence": 1,
    "entropy": "S0m3r4Nd0mt3xt",
}


@pytest.fixture(scope="module")
def clio() -> SpecValidator:
    return SpecValidator.for_spec("clio")


@pytest.fixture(scope="module")
def xero() -> SpecValidator:
    return SpecValidator.for_spec("xero_accounting")


# ---------------------------------------------------------------- locating and loading


def test_find_specs_dir_finds_the_shared_folder() -> None:
    specs = find_specs_dir()
    assert (specs / "clio" / "openapi.json").is_file()
    assert (specs / "xero" / "xero_accounting.yaml").is_file()


def test_find_specs_dir_honours_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = find_specs_dir()
    monkeypatch.setenv("CLIO_XERO_SPECS_DIR", str(real))
    assert find_specs_dir() == real.resolve()
    monkeypatch.setenv("CLIO_XERO_SPECS_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="CLIO_XERO_SPECS_DIR"):
        find_specs_dir()


def test_for_spec_is_cached_per_process() -> None:
    first = SpecValidator.for_spec("xero_accounting")
    assert SpecValidator.for_spec("xero_accounting") is first
    assert SpecValidator.for_spec("clio") is not first


def test_yaml_parse_is_cached_as_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(openapi, "_repo_root", lambda: tmp_path)
    source = find_specs_dir() / "xero" / "xero_accounting.yaml"
    cache = tmp_path / ".cache" / "specs" / f"xero_accounting.{hashlib.sha256(source.read_bytes()).hexdigest()}.json"

    cold = load_spec_document("xero_accounting")
    assert cache.is_file()
    assert json.loads(cache.read_text(encoding="utf-8")) == cold
    # YAML timestamps stay strings, so the cached and the fresh parse are the same data.
    assert isinstance(cold["paths"]["/Contacts"]["get"]["responses"]["200"], dict)

    # Prove the second load reads the cache rather than the YAML.
    marked = copy.deepcopy(cold)
    marked["x-from-cache"] = True
    cache.write_text(json.dumps(marked), encoding="utf-8")
    warm = load_spec_document("xero_accounting")
    assert warm["x-from-cache"] is True  # read from the cache, not parsed again


def test_unwritable_cache_is_not_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setattr(openapi, "_repo_root", lambda: blocker)
    assert load_spec_document("xero_identity")["openapi"].startswith("3.0")


def test_unknown_spec_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown spec"):
        load_spec_document("nope")  # type: ignore[arg-type]


# ---------------------------------------------------------------- Clio


def test_clio_contact_list_passes(clio: SpecValidator) -> None:
    body = {"data": [CLIO_CONTACT, {**CLIO_CONTACT, "id": 2, "type": "Company"}], "meta": {"paging": {}}}
    assert clio.validate_response("GET", "/api/v4/contacts.json", 200, body) == []
    # A query string and a full URL are fine too.
    assert clio.validate_response("GET", "https://app.clio.com/api/v4/contacts.json?limit=2", 200, body) == []


def test_a_valid_body_is_remembered_and_an_invalid_one_still_reported(clio: SpecValidator) -> None:
    """Bodies found valid are not walked again (docs/testing.md); errors are never remembered."""
    body = {"data": [{**CLIO_CONTACT, "id": 424242}], "meta": {"paging": {}}}
    assert clio.validate_response("GET", "/api/v4/contacts.json", 200, body) == []
    walked: list[Any] = []
    pointer = next(p for p in clio._validators if "contacts.json" in p)
    real = clio._validators[pointer]

    class Counting:
        def iter_errors(self, instance: Any) -> Any:
            walked.append(instance)
            return real.iter_errors(instance)

    clio._validators[pointer] = Counting()
    try:
        same = json.loads(json.dumps(body))  # an equal body, not the same object, keys reordered
        same["meta"], same["data"] = same.pop("meta"), same.pop("data")
        assert clio.validate_response("GET", "/api/v4/contacts.json?limit=1", 200, same) == []
        assert walked == []  # answered from memory
        broken = {"data": [{**CLIO_CONTACT, "id": {"oops": 1}}]}
        for _ in range(2):  # reported every time: an invalid body is never remembered
            assert clio.validate_response("GET", "/api/v4/contacts.json", 200, broken)
        assert len(walked) == 2
    finally:
        clio._validators[pointer] = real


def test_clio_wrong_type_names_the_field(clio: SpecValidator) -> None:
    body = {"data": [{**CLIO_CONTACT, "id": {"oops": 1}}]}
    errors = clio.validate_response("GET", "/api/v4/contacts.json", 200, body)
    assert len(errors) == 1
    assert errors[0].startswith("$.data[0].id: ")
    assert "is not of type 'integer'" in errors[0]


def test_clio_unknown_enum_and_nested_type_are_reported(clio: SpecValidator) -> None:
    body = {
        "data": {
            **CLIO_CONTACT,
            "type": "Robot",
            "email_addresses": [{"id": "three", "address": "a@b.c"}],
        }
    }
    errors = clio.validate_response("GET", "/api/v4/contacts/12.json", 200, body)
    assert any(e.startswith("$.data.type: 'Robot' is not one of") for e in errors), errors
    assert any(e.startswith("$.data.email_addresses[0].id: ") for e in errors), errors


def test_clio_list_without_data_fails(clio: SpecValidator) -> None:
    errors = clio.validate_response("GET", "/api/v4/contacts.json", 200, {"contacts": []})
    assert errors == ["$: 'data' is a required property"]


def test_clio_error_response(clio: SpecValidator) -> None:
    ok = {"error": {"type": "RecordNotFound", "message": "not found"}}
    assert clio.validate_response("GET", "/api/v4/contacts/12.json", 404, ok) == []
    assert clio.validate_response("GET", "/api/v4/contacts/12.json", 404, {"error": "x"}) != []


def test_undocumented_path_method_and_status(clio: SpecValidator) -> None:
    assert clio.validate_response("GET", "/api/v4/nope.json", 200, {}) == ["undocumented: GET /api/v4/nope.json 200"]
    assert clio.validate_response("PUT", "/api/v4/contacts.json", 200, {}) == [
        "undocumented: PUT /api/v4/contacts.json 200"
    ]
    assert clio.validate_response("GET", "/api/v4/contacts.json", 418, {}) == [
        "undocumented: GET /api/v4/contacts.json 418"
    ]


def test_concrete_templates_win_over_parameters(clio: SpecValidator) -> None:
    assert clio.match_path("/api/v4/billable_matters/ids.json") == "/billable_matters/ids.json"
    assert clio.match_path("/api/v4/contacts/12.json") == "/contacts/{id}.json"
    assert clio.match_path("/api/v4/contacts/12/extra.json") is None


def test_clio_request_body(clio: SpecValidator) -> None:
    assert clio.validate_request("POST", "/api/v4/contacts.json", {"data": {"name": "A", "type": "Person"}}) == []
    errors = clio.validate_request("POST", "/api/v4/contacts.json", {"data": {"name": "A", "type": "Robot"}})
    assert errors
    assert errors[0].startswith("$.data.type: ")


def test_validate_schema_by_component_name(clio: SpecValidator) -> None:
    assert clio.validate_schema("Contact_base", {"id": 1, "name": "A"}) == []
    assert clio.validate_schema("Contact_base", {"id": "1"}) != []
    with pytest.raises(KeyError):
        clio.validate_schema("NoSuchSchema", {})


# ---------------------------------------------------------------- Xero accounting


def test_xero_contacts_pass_and_bogus_status_fails(xero: SpecValidator) -> None:
    good = {"Contacts": [{"ContactID": UUID, "Name": "X", "ContactStatus": "ACTIVE"}]}
    assert xero.validate_response("GET", "/api.xro/2.0/Contacts", 200, good) == []

    bad = {"Contacts": [{"ContactID": UUID, "Name": "X", "ContactStatus": "BOGUS"}]}
    errors = xero.validate_response("GET", "/api.xro/2.0/Contacts", 200, bad)
    assert len(errors) == 1
    assert errors[0].startswith("$.Contacts[0].ContactStatus: 'BOGUS' is not one of")


def test_xero_envelope_msdates_and_case_insensitive_paths(xero: SpecValidator) -> None:
    body: dict[str, Any] = {
        "Id": UUID,
        "Status": "OK",
        "ProviderName": "clio-xero",
        "DateTimeUTC": "/Date(1551399323399)/",
        "Contacts": [
            {
                "ContactID": UUID,
                "Name": "X",
                "UpdatedDateUTC": "/Date(1573755038314+0000)/",  # x-is-msdate-time
                "IsSupplier": False,
                "Addresses": [{"AddressType": "POBOX"}],
            }
        ],
    }
    assert xero.validate_response("GET", f"/api.xro/2.0/contacts/{UUID}", 200, body) == []
    body["Contacts"][0]["IsSupplier"] = "false"  # Xero's spec writes defaults like this; bodies must not
    assert xero.validate_response("GET", f"/api.xro/2.0/Contacts/{UUID}", 200, body) == [
        "$.Contacts[0].IsSupplier: 'false' is not of type 'boolean'"
    ]


def test_xero_error_response_through_a_response_ref(xero: SpecValidator) -> None:
    body = {"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred"}
    assert xero.validate_response("POST", "/api.xro/2.0/Contacts", 400, body) == []
    assert xero.validate_response("POST", "/api.xro/2.0/Contacts", 400, {"ErrorNumber": "ten"}) != []


def test_xero_non_json_response_accepts_only_no_body(xero: SpecValidator) -> None:
    assert xero.validate_response("GET", f"/api.xro/2.0/Invoices/{UUID}/pdf", 200, None) == []
    errors = xero.validate_response("GET", f"/api.xro/2.0/Invoices/{UUID}/pdf", 200, {"a": 1})
    assert errors[0].startswith("undocumented: ")


def test_xero_request_body(xero: SpecValidator) -> None:
    assert xero.validate_request("POST", "/api.xro/2.0/Contacts", {"Contacts": [{"Name": "X"}]}) == []
    errors = xero.validate_request("POST", "/api.xro/2.0/Contacts", {"Contacts": {"Name": "X"}})
    assert errors
    assert errors[0].startswith("$.Contacts: ")


# ---------------------------------------------------------------- Xero webhooks and identity


def test_xero_webhook_payload() -> None:
    hooks = SpecValidator.for_spec("xero_webhooks")
    assert hooks.validate_schema("WebhookEvent", WEBHOOK_EVENT) == []
    assert hooks.validate_webhook("contacts", WEBHOOK_EVENT) == []
    # Intent-to-receive pings carry no events but still every envelope field.
    assert hooks.validate_webhook("contacts", {**WEBHOOK_EVENT, "events": []}) == []

    missing = {k: v for k, v in WEBHOOK_EVENT.items() if k != "entropy"}
    assert hooks.validate_webhook("contacts", missing) == ["$: 'entropy' is a required property"]

    bad = copy.deepcopy(WEBHOOK_EVENT)
    bad["events"][0]["eventType"] = "DELETE"
    errors = hooks.validate_webhook("contacts", bad)
    assert len(errors) == 1
    assert errors[0].startswith("$.events[0].eventType: ")

    # Credit-note events also need their "data" (a $ref into another schema's properties).
    errors = hooks.validate_webhook("creditNotes", WEBHOOK_EVENT)
    assert "$.events[0]: 'data' is a required property" in errors
    assert hooks.validate_webhook("nope", WEBHOOK_EVENT) == ["undocumented: webhook nope"]


def test_xero_connections_via_identity_spec() -> None:
    identity = SpecValidator.for_spec("xero_identity")
    body = [
        {
            "id": UUID,
            "authEventId": UUID,
            "tenantId": TENANT,
            "tenantType": "ORGANISATION",
            "tenantName": "Demo Company (NZ)",
            "createdDateUtc": "2019-12-07T18:46:19.5165400",
            "updatedDateUtc": "2019-12-07T18:46:19.5187840",
        }
    ]
    # The document says /Connections; Xero (and our clients) use /connections.
    assert identity.validate_response("GET", "https://api.xero.com/connections", 200, body) == []
    assert identity.validate_response("GET", "/connections", 200, [{"id": 5}]) == ["$[0].id: 5 is not of type 'string'"]
    assert identity.validate_response("GET", "/connections", 200, {"id": UUID}) != []
    assert identity.validate_response("DELETE", f"/connections/{UUID}", 204, None) == []
    assert identity.validate_schema("Connection", body[0]) == []


# ---------------------------------------------------------------- compiled once


def test_validators_are_compiled_once_and_reused(clio: SpecValidator, xero: SpecValidator) -> None:
    # Speed itself is a benchmark matter (bench/); here: repeated validations agree and stay valid.
    clio_body = {"data": [{**CLIO_CONTACT, "id": i} for i in range(25)], "meta": {"paging": {}}}
    xero_body = {"Contacts": [{"ContactID": UUID, "Name": f"C{i}", "ContactStatus": "ACTIVE"} for i in range(25)]}
    for _ in range(3):
        assert clio.validate_response("GET", "/api/v4/contacts.json", 200, clio_body) == []
        assert xero.validate_response("GET", "/api.xro/2.0/Contacts", 200, xero_body) == []
    assert SpecValidator.for_spec("clio") is clio
