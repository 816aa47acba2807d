"""HTTP API for reply suggestions: auth, validation, size limit, response shape, escalation, batching."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fakes import ScriptedEngine
from fastapi.testclient import TestClient

from marketing_gen.api import create_app
from marketing_gen.config import get_settings

REPLY = "Thanks for reaching out! Send us a DM with your order number and we'll take a look."
AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture
def engine() -> ScriptedEngine:
    return ScriptedEngine(default=REPLY)


@pytest.fixture
def client(settings_env: None, engine: ScriptedEngine) -> Iterator[TestClient]:
    app = create_app(get_settings())
    app.state.reply_engine = engine
    app.state.reply_max_wait_ms = 50
    with TestClient(app) as c:
        yield c


def test_requires_token(client: TestClient) -> None:
    assert client.post("/v1/replies/suggest", json={"text": "hi"}).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.post("/v1/replies/suggest", json={"text": "hi"}, headers=wrong).status_code == 401


def test_suggest_shape(client: TestClient, engine: ScriptedEngine) -> None:
    r = client.post("/v1/replies/suggest", json={"text": "Where is my parcel? It's late.", "k": 3}, headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["escalate"] is False and body["reason"] is None
    assert body["category"] == "complaint"
    assert len(body["suggestions"]) == 3
    assert len({s["intent"] for s in body["suggestions"]}) == 3
    assert body["model_version"] == engine.version
    assert len(engine.calls) == 1
    # EU AI Act Art. 50: the agent is told which suggestions an AI wrote
    assert body["ai_generated"] is True and "AI model" in body["notice"]
    for s in body["suggestions"]:
        assert (s["ai_mark"], s["label"]) == (
            ("fallback", "Template suggestion") if s["fallback"] else ("model", "AI suggestion")
        )
    assert any(s["ai_mark"] == "model" for s in body["suggestions"])


def test_k_above_default_candidates(client: TestClient) -> None:
    r = client.post("/v1/replies/suggest", json={"text": "Does it come in black?", "k": 5}, headers=AUTH)
    assert r.status_code == 200, r.text
    assert len({s["intent"] for s in r.json()["suggestions"]}) == 5


def test_escalation(client: TestClient, engine: ScriptedEngine) -> None:
    r = client.post("/v1/replies/suggest", json={"text": "I will sue you, my lawyer is ready"}, headers=AUTH)
    assert r.status_code == 200
    body = r.json()
    assert body["escalate"] is True and body["category"] == "legal_safety" and body["suggestions"] == []
    assert engine.calls == []


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({"text": ""}, "text", "at least 1"),
        ({"text": "   "}, "text", "blank"),
        ({"text": "x" * 2001}, "text", "at most 2000"),
        ({"text": "hi", "k": 0}, "k", "greater than or equal to 1"),
        ({"text": "hi", "k": 9}, "k", "less than or equal to 5"),
        ({"k": 3}, "text", "required"),
        ({"text": "hi", "colour": "red"}, "colour", "not permitted"),
    ],
)
def test_bad_input_is_422_with_a_clear_message(client: TestClient, payload: dict, field: str, words: str) -> None:  # type: ignore[type-arg]
    r = client.post("/v1/replies/suggest", json=payload, headers=AUTH)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == "urn:marketing-gen:problem:validation-failed" and field in problem["detail"]
    errors = problem["errors"]
    assert any(e["loc"][-1] == field and words in e["msg"].lower() for e in errors), errors


def test_body_size_limit(client: TestClient) -> None:
    r = client.post("/v1/replies/suggest", json={"text": "x" * 300_000}, headers=AUTH)
    assert r.status_code == 413


def test_unknown_item_is_404(client: TestClient) -> None:
    r = client.post("/v1/replies/suggest", json={"text": "is it good?", "item_id": "nope"}, headers=AUTH)
    assert r.status_code == 404
    assert "nope" in r.json()["detail"]


def test_concurrent_http_requests_are_batched(client: TestClient, engine: ScriptedEngine) -> None:
    texts = [f"Does model {i} come in black?" for i in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda t: client.post("/v1/replies/suggest", json={"text": t}, headers=AUTH), texts))
    assert all(r.status_code == 200 for r in responses)
    assert len(engine.calls) < len(texts)


def test_openapi_documents_the_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/v1/replies/suggest"]["post"]
    assert "SuggestRequest" in str(op["requestBody"]) and "200" in op["responses"]


def test_no_model_is_503(settings_env: None) -> None:
    app = create_app(get_settings())
    with TestClient(app) as c:
        r = c.post("/v1/replies/suggest", json={"text": "hello?"}, headers=AUTH)
    assert r.status_code == 503
    assert "model" in r.json()["detail"].lower()


def test_engine_loads_on_the_thread_that_generates(settings_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Torch keeps an OpenMP team per calling thread: loading on one and generating on another halves CPU speed."""
    import threading

    from marketing_gen.versions import active

    threads: dict[str, set[int]] = {"load": set(), "generate": set()}

    class ThreadRecordingEngine(ScriptedEngine):
        def generate(self, prompts, params=None):  # type: ignore[no-untyped-def]
            threads["generate"].add(threading.get_ident())
            return super().generate(prompts, params)

    def load(settings: object, *, int8_decode: bool = False) -> ScriptedEngine:
        assert int8_decode is get_settings().reply_int8_decode  # the API asks for its latency mode
        threads["load"].add(threading.get_ident())
        return ThreadRecordingEngine(default=REPLY)

    monkeypatch.setattr(active, "load_active_engine", load)
    app = create_app(get_settings())
    with TestClient(app) as c:
        for text in ("Does it come in black?", "Is the blue one in stock?"):
            assert c.post("/v1/replies/suggest", json={"text": text}, headers=AUTH).status_code == 200
    assert len(threads["load"]) == 1 and threads["generate"] == threads["load"]
    assert threading.get_ident() not in threads["load"]
