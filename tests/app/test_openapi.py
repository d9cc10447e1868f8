"""The OpenAPI contract: generated from the code, served, and fuzzed with schemathesis.

Schemathesis reads ``/openapi.json`` from the app itself (WSGI, no network) over the
loaded test graph (songs with embeddings, so every operation can answer 200) and runs
every default check on every operation, with valid and invalid data: no 5xx, only
documented statuses and content types, bodies that match their schemas, invalid input
rejected and valid input accepted. It is seeded and bounded, so a run is repeatable and
fits CI.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from app import create_app

pytestmark = pytest.mark.neo4j

#: Examples per operation and generation mode: enough to reach the edges of every
#: parameter, few enough for CI.
MAX_EXAMPLES = 40
HOSTILE_ID = "HOSTILE1"  # tests.support.app_rows(): HTML and script in its title and artist
CONFIG = SchemathesisConfig.from_dict({"seed": 20261127})

#: Every operation as (path, method, mode), read from the document the code builds (no
#: database needed for that), so a new endpoint is fuzzed without editing this file.
#: Invalid data only where there is a parameter to make invalid.
_DOC = create_app({"TESTING": True}).api_doc
CASES = [(path, method, mode) for path, item in _DOC["paths"].items()
         for method, operation in item.items()
         for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
         if mode is GenerationMode.POSITIVE or operation.get("parameters")]

#: Parameters naming songs of the loaded graph: random ids name no song (404), so half
#: of the valid examples take these, and every operation is seen answering 200 too.
KNOWN: dict[str, dict[str, dict[str, str]]] = {
    "/api/songs": {"query": {"q": "Song 7"}},
    "/api/songs/{song_id}": {"path_parameters": {"song_id": HOSTILE_ID}},
    "/api/songs/{song_id}/recommendations": {"path_parameters": {"song_id": "T00004"}},
    "/api/recommendations": {"query": {"seeds": "T00001,T00004"}},
    "/api/explain": {"query": {"from": "T00001", "to": HOSTILE_ID}},
}


@pytest.fixture(scope="module")
def api_schema(loaded_app: Flask) -> schemathesis.BaseSchema:
    """The app's own OpenAPI document, loaded through WSGI from the loaded app."""
    return schemathesis.openapi.from_wsgi("/openapi.json", loaded_app, config=CONFIG)


@pytest.mark.parametrize(("path", "method", "mode"), CASES,
                         ids=[f"{m.upper()} {p} {g.value}" for p, m, g in CASES])
def test_api_honours_its_contract(api_schema: schemathesis.BaseSchema, path: str, method: str,
                                  mode: GenerationMode) -> None:
    operation = api_schema[path][method]
    strategy = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.POSITIVE and path in KNOWN:
        strategy = st.one_of(strategy, operation.as_strategy(generation_mode=mode,
                                                             **KNOWN[path]))
    statuses: list[int] = []

    # derandomize: the same examples on every run (seeded by the test), no example database.
    @given(case=strategy)
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        statuses.append(case.call_and_validate().status_code)  # every default check

    check()
    if mode is GenerationMode.POSITIVE:
        assert 200 in statuses, f"no valid example answered 200: {sorted(set(statuses))}"
    else:
        # Schemathesis itself tells which invalid-looking cases are valid once sent
        # (extra parameters, numbers that serialise alike) and accepts a 200 for those.
        assert 400 in statuses, f"no invalid example was rejected: {sorted(set(statuses))}"


def test_document_covers_every_api_route(loaded_app: Flask,
                                         loaded_client: FlaskClient) -> None:
    r = loaded_client.get("/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    doc = r.get_json()
    assert doc["openapi"].startswith("3.")
    routes = {re.sub(r"<(\w+)>", r"{\1}", rule.rule) for rule in loaded_app.url_map.iter_rules()
              if (rule.rule.startswith("/api/") and rule.rule != "/api/docs")
              or rule.rule == "/healthz"}
    assert set(doc["paths"]) == routes
    for path, item in doc["paths"].items():
        for operation in item.values():
            responses = operation["responses"]
            assert "200" in responses and "503" in responses, path
            for status, response in responses.items():
                if status != "200":  # every error has the API's one shape
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorBody"), (path, status)
    # Both recommendation operations take max_per_artist (0..100), as the song page will.
    for path in ("/api/songs/{song_id}/recommendations", "/api/recommendations"):
        params = {p["name"]: p for p in doc["paths"][path]["get"]["parameters"]}
        assert params["max_per_artist"]["schema"]["minimum"] == 0
        assert params["max_per_artist"]["schema"]["maximum"] == 100


def test_docs_page_lists_every_operation(loaded_client: FlaskClient) -> None:
    doc = loaded_client.get("/openapi.json").get_json()
    r = loaded_client.get("/api/docs")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            assert f"<code>{method.upper()} {path}</code>" in html
            assert operation["summary"] in html
    assert "<script" not in html and 'href="/openapi.json"' in html


@pytest.mark.parametrize(("url", "error"), [
    ("/api/songs?q=((", "q needs something to search for"),
    ("/api/songs?q=song&limit=0", "limit"),
    ("/api/songs/T00001/recommendations?k=abc", "k"),
    ("/api/songs/T00001/recommendations?max_per_artist=101", "max_per_artist"),
    ("/api/recommendations?seeds=,,", "seeds needs at least one song id"),
    ("/api/recommendations?seeds=T00001&max_per_artist=-1", "max_per_artist"),
    ("/api/explain?from=T00001", "to is required"),
])
def test_parameter_errors_keep_the_error_shape(loaded_client: FlaskClient, url: str,
                                               error: str) -> None:
    r = loaded_client.get(url)
    assert r.status_code == 400
    body = r.get_json()
    assert set(body) == {"error", "detail"} and body["error"].startswith(error)


def test_max_per_artist_is_accepted(loaded_client: FlaskClient) -> None:
    for url in ("/api/songs/T00001/recommendations?k=3&max_per_artist=0",
                "/api/recommendations?seeds=T00001,T00002&k=3&max_per_artist=2"):
        r = loaded_client.get(url)
        assert r.status_code == 200 and len(r.get_json()["recommendations"]) == 3
