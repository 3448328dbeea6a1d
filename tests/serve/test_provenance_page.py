"""The page shows each result's marks and verifies an uploaded file, on a real server."""

from __future__ import annotations

import json
from typing import Any

from .serve_testutil import EXAMPLES, Client, JobStream, ServerProcess, example_fields


def _run(
    client: Client, fields: dict[str, str], files: dict[str, tuple[str, bytes]] | None = None
) -> tuple[JobStream, dict[str, Any]]:
    status, answer = client.submit(fields, files)
    assert status == 201, answer
    stream = client.follow(answer["id"])
    final = stream.until(lambda s: s["state"] in ("done", "failed", "cancelled"))
    return stream, final


def test_results_show_their_marks_and_uploads_are_verified(server: ServerProcess) -> None:
    client = Client(server.url)
    stream, final = _run(client, example_fields())
    try:
        assert final["state"] == "done", final["error"]
        (output,) = final["outputs"]
        marks = output["marks"]
        assert marks["watermark"]["embedded"] and len(marks["watermark"]["output_id"]) == 4
        assert marks["credentials"]["signed"] is True
        assert "AI-generated" in marks["label"]
        status, video = client.request("GET", output["url"])
        assert status == 200
    finally:
        stream.close()

    stream, found = _run(client, {"kind": "verify"}, {"file": ("my result.mp4", video)})
    stream.close()
    assert found["state"] == "done", found["error"]
    report = found["verification"]
    assert report["verdict"] == "marked" and report["exit_code"] == 0
    assert report["credentials"]["state"] == "valid"
    assert (
        report["credentials"]["parameters"]["watermark_output_id"]
        == (marks["watermark"]["output_id"])
    )
    assert report["label"]["present"] and report["watermark"]["detected"]
    # The user's name for the file, never the server's folder.
    assert report["path"] == "my result.mp4"
    assert str(server.tmpdir) not in json.dumps(report)

    plain = (EXAMPLES / "driving.mp4").read_bytes()
    stream, found = _run(client, {"kind": "verify"}, {"file": ("clip.mp4", plain)})
    stream.close()
    assert found["state"] == "done", found["error"]
    assert found["verification"]["verdict"] == "not_marked"
    assert found["verification"]["watermark"]["detected"] is False

    status, answer = client.submit({"kind": "verify"})
    assert (status, answer) == (400, {"error": "choose a file to verify"})


def test_the_page_offers_verification_under_its_own_rules(server: ServerProcess) -> None:
    client = Client(server.url)
    status, page = client.request("GET", "/")
    assert status == 200
    html = page.decode()
    assert 'data-tab="verify"' in html and 'name="file"' in html
    status, script = client.request("GET", "/static/app.js")
    assert status == 200
    assert b"verificationView" in script and b"marksList" in script
    # Still nothing loaded from elsewhere.
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
