"""The server logs one JSON line per request (method, path, query, status, ms)."""

from __future__ import annotations

import asyncio
import json
import logging

from gis_service.api.app import AccessLog


def test_one_line_per_request_with_the_status(caplog):
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b"teapot"})

    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": "GET", "path": "/ogc/collections", "query_string": b"f=json&lang=<id>"}
    with caplog.at_level(logging.INFO, logger="gis_service.api"):
        asyncio.run(AccessLog(app)(scope, receive, send))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith("{")]
    assert len(lines) == 1
    line = lines[0]
    assert (line["method"], line["path"], line["query"], line["status"]) == \
        ("GET", "/ogc/collections", "f=json&lang=<id>", 418)
    assert line["ms"] >= 0


def test_a_request_that_fails_before_answering_is_logged_as_500(caplog):
    async def app(scope, receive, send):
        raise RuntimeError("boom")

    async def nothing(message=None):
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": "POST", "path": "/api/jobs", "query_string": b""}
    with caplog.at_level(logging.INFO, logger="gis_service.api"):
        try:
            asyncio.run(AccessLog(app)(scope, nothing, nothing))
        except RuntimeError:
            pass
        else:
            raise AssertionError("the error must reach the server")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith("{")]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [("POST", "/api/jobs", 500)]
