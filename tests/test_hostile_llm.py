"""Issue 20, finding 3: the LMM client against hostile servers (a real HTTP server on 127.0.0.1).

Every case ends in a reply or an HTTPError that says what to do, within the timeout plus a
little; the key never travels to another origin and never appears in a message.
"""

import gzip
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sdcomp_lite.errors import BackendUnavailableError, InvalidParameterError, SdcompError
from sdcomp_lite.ranking.llm import HTTPError, OpenAICompatibleClient, OpenAICompatibleRanker, chat_completion, redact_url

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "fuzz_llm_replies.py"
_spec = importlib.util.spec_from_file_location("fuzz_llm_replies", _PATH)
fuzz = importlib.util.module_from_spec(_spec)
sys.modules["fuzz_llm_replies"] = fuzz
_spec.loader.exec_module(fuzz)

KEY = "sk-secret-123"
IMAGE = np.full((16, 16, 3), 128, np.uint8)
GOOD = fuzz.ok_response(fuzz.completion('{"ranking": [1]}'))


def _ask(server, timeout: float = 2.0, **options) -> str:
    client = OpenAICompatibleClient(server.url, "m", options.pop("api_key", KEY), timeout=timeout, retries=0, **options)
    return client.ask(IMAGE, "rank these")


def _refused(server, match: str, timeout: float = 2.0) -> str:
    started = time.monotonic()
    with pytest.raises(HTTPError, match=match) as caught:
        _ask(server, timeout)
    assert time.monotonic() - started < timeout + 1.5
    message = str(caught.value)
    assert KEY not in message and "\n" not in message
    return message


def test_a_good_server_answers_and_gets_the_key():
    with fuzz.HostileServer(fuzz.raw(GOOD)) as server:
        assert _ask(server) == '{"ranking": [1]}'
        request = server.requests[0]
        assert request["line"] == "POST /v1/chat/completions HTTP/1.1"
        assert request["headers"]["authorization"] == f"Bearer {KEY}"
        body = json.loads(request["body"])
        assert body["model"] == "m" and body["temperature"] == 0
        assert [m["role"] for m in body["messages"]] == ["user"]  # the shared client adds a system message only when asked
        assert body["messages"][0]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")


def test_chat_completion_is_one_call():
    with fuzz.HostileServer(fuzz.raw(GOOD)) as server:
        assert chat_completion(server.url, "m", "", [{"role": "user", "content": "hi"}], timeout=2) == '{"ranking": [1]}'
        assert "authorization" not in server.requests[0]["headers"]


@pytest.mark.parametrize("target_host", ["127.0.0.2", "127.0.0.1"])
def test_a_redirect_to_another_origin_is_not_followed_and_the_key_stays_home(target_host):
    """Another host or another port is another origin: nothing, least of all the key, is sent there."""
    with fuzz.HostileServer(fuzz.raw(GOOD), host=target_host) as elsewhere:
        with fuzz.HostileServer(fuzz.redirect(elsewhere.url + "/chat/completions")) as server:
            message = _refused(server, "redirects .*HTTP 307.*not followed.*Set base_url to the final address")
        time.sleep(0.1)
        assert elsewhere.requests == [] and elsewhere.url in message


def test_a_server_that_drips_one_byte_a_second_is_cut_off_at_the_timeout():
    with fuzz.HostileServer(fuzz.drip(GOOD, interval=1.0)) as server:
        _refused(server, "no complete answer within 1.5 s", timeout=1.5)


def test_headers_dripped_byte_by_byte_are_cut_off_too():
    head = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 1000
    with fuzz.HostileServer(fuzz.drip(head, interval=0.2)) as server:
        _refused(server, "no complete answer within 1 s", timeout=1.0)


def test_the_timeout_also_bounds_the_retries_count():
    with fuzz.HostileServer(fuzz.drip(GOOD, interval=1.0)) as server:
        client = OpenAICompatibleClient(server.url, "m", timeout=1.0, retries=1, backoff=0.01)
        started = time.monotonic()
        with pytest.raises(HTTPError, match="failed after 2 attempt"):
            client.ask(IMAGE, "x")
        assert time.monotonic() - started < 2 * 1.0 + 1.5


def test_an_endless_chunked_body_stops_at_the_size_cap():
    endless = fuzz.endless(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"10000\r\n" + b"a" * 65536 + b"\r\n")
    with fuzz.HostileServer(endless) as server:
        client = OpenAICompatibleClient(server.url, "m", timeout=10, retries=0, max_reply_bytes=1_000_000)
        with pytest.raises(HTTPError, match="larger than 1000000 bytes"):
            client.ask(IMAGE, "x")


def test_a_2_gb_content_length_is_refused_before_reading():
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 2000000000\r\n\r\n"
    with fuzz.HostileServer(fuzz.endless(head, b"a" * 65536)) as server:
        _refused(server, "announces 2000000000 bytes")


def test_a_gzip_body_is_read_when_labelled_and_refused_when_not():
    packed = gzip.compress(fuzz.completion("hello").encode())
    with fuzz.HostileServer(fuzz.raw(fuzz.ok_response(packed, ("Content-Encoding: gzip",)))) as server:
        assert _ask(server) == "hello"
    with fuzz.HostileServer(fuzz.raw(fuzz.ok_response(packed))) as server:
        _refused(server, "not UTF-8 text")
    bomb = gzip.compress(b" " * (20 << 20))
    with fuzz.HostileServer(fuzz.raw(fuzz.ok_response(bomb, ("Content-Encoding: gzip",)))) as server:
        _refused(server, "larger than")
    with fuzz.HostileServer(fuzz.raw(fuzz.ok_response(packed[:20], ("Content-Encoding: gzip",)))) as server:
        _refused(server, "ends early")
    with fuzz.HostileServer(fuzz.raw(fuzz.ok_response(b"x", ("Content-Encoding: br",)))) as server:
        _refused(server, "does not read")


@pytest.mark.parametrize("name, answer, match", [
    ("invalid UTF-8", fuzz.ok_response(b'{"choices": "\xff\xfe"}'), "not UTF-8"),
    ("bad status line", b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\n{}", "not valid HTTP/1.1"),
    ("garbage", b"garbage\r\n\r\n", "not valid HTTP/1.1"),
    ("150 headers", fuzz.ok_response("{}", tuple(f"X-{i}: v" for i in range(150))), "sent 152 headers"),
    ("70 kB header line", fuzz.ok_response("{}", ("X-Long: " + "a" * 70_000,)), "at most 100 headers of 32768 bytes"),
    ("bad chunk size", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", "not valid HTTP"),
    ("deep JSON", fuzz.ok_response("[" * 100_000 + "]" * 100_000), "too deeply"),
    ("not JSON", fuzz.ok_response("<html>"), "not JSON.*<html>"),
    ("not a completion", fuzz.ok_response('{"error": {"message": "x"}}'), r"not a chat completion.*\['error'\]"),
    ("no content", fuzz.ok_response(fuzz.completion(None)), "NoneType, not text"),
    ("401", fuzz.ok_response("{}", (), "401 Unauthorized"), "HTTP 401 Unauthorized .check the API key"),
    ("truncated", fuzz.ok_response(fuzz.completion("x"))[:-5], "not valid HTTP/1.1"),
])
def test_malformed_answers_are_one_specific_error(name, answer, match):
    with fuzz.HostileServer(fuzz.raw(answer)) as server:
        _refused(server, match)


def test_a_5000_digit_number_in_the_envelope_is_read_as_a_number():
    envelope = fuzz.completion("ok").replace('"prompt_tokens": 9', '"prompt_tokens": ' + "9" * 5000)
    with fuzz.HostileServer(fuzz.raw(fuzz.ok_response(envelope))) as server:
        assert _ask(server) == "ok"


def test_a_5000_digit_id_in_the_reply_is_a_ranking_error_not_a_traceback():
    from sdcomp_lite.ranking import RankingError
    from sdcomp_lite.types import SceneObject

    objects = [SceneObject(1, "a", (0, 0, 8, 8), np.ones((16, 16), bool))]
    reply = fuzz.completion('{"ranking": [{"id": ' + "1" * 5000 + "}]}")
    with fuzz.HostileServer(fuzz.raw(fuzz.ok_response(reply))) as server:
        ranker = OpenAICompatibleRanker(server.url, "m", timeout=2, retries=0)
        with pytest.raises(RankingError):
            ranker.rank(IMAGE, objects, "x")


@pytest.mark.parametrize("key", ["sk-abc\r\nX-Injected: 1", "sk-abc\n", "sk-\x00", "sk-é"])
def test_an_api_key_that_cannot_be_a_header_is_refused_at_construction_without_printing_it(key):
    with pytest.raises(InvalidParameterError, match="API key .*line break") as caught:
        OpenAICompatibleClient("http://127.0.0.1:9/v1", "m", key)
    assert key.strip() not in str(caught.value)


@pytest.mark.parametrize("url", ["garbage", "ftp://host/v1", "http://", "http://[::1", "http://h:99999/v1",
                                 "http://h/v1?x=1", "http://h/v1\r\nX: y", "http://a b/", "x" * 5000, 42])
def test_a_garbage_base_url_is_refused_at_construction(url):
    with pytest.raises(InvalidParameterError, match="base_url"):
        OpenAICompatibleClient(url, "m")


def test_missing_settings_say_which_variables_to_set(monkeypatch):
    for name in ("SDCOMP_LMM_BASE_URL", "SDCOMP_LMM_MODEL", "SDCOMP_LMM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(BackendUnavailableError, match="SDCOMP_LMM_BASE_URL") as caught:
        OpenAICompatibleRanker()
    assert str(caught.value).startswith("the openai-compatible ranker needs a server")
    with pytest.raises(BackendUnavailableError, match="^the captioner needs a server"):
        OpenAICompatibleClient(purpose="the captioner")
    for bad in ({"timeout": 0}, {"timeout": float("inf")}, {"retries": -1}, {"retries": True}, {"backoff": -1}):
        with pytest.raises(InvalidParameterError):
            OpenAICompatibleClient("http://127.0.0.1:9/v1", "m", **bad)


def test_a_password_in_the_address_is_used_but_never_printed():
    assert redact_url("http://me:hunter2@host:8/v1") == "http://me:***@host:8/v1"
    assert redact_url("http://host/v1") == "http://host/v1"
    with fuzz.HostileServer(fuzz.raw(fuzz.ok_response("{}", (), "503 Busy"))) as server:
        url = server.url.replace("http://", "http://me:hunter2@")
        ranker = OpenAICompatibleRanker(url, "m", api_key="", timeout=2, retries=0)
        assert "hunter2" not in repr(ranker) and "me:***@" in repr(ranker)
        with pytest.raises(HTTPError, match="HTTP 503") as caught:
            ranker.ask(IMAGE, "x")
        assert "hunter2" not in str(caught.value) and "me:***@" in str(caught.value)
        assert server.requests[0]["headers"]["authorization"].startswith("Basic ")
    with pytest.raises(InvalidParameterError) as caught:
        OpenAICompatibleClient("http://me:hunter2@h:99999/v1", "m")
    assert "hunter2" not in str(caught.value)


def test_errors_are_package_errors():
    assert issubclass(HTTPError, SdcompError)


@pytest.mark.parametrize("module", ["sdcomp_lite.ranking.llm", "sdcomp_lite.lmm_client"])
def test_the_module_imports_neither_torch_nor_transformers_at_module_level(module):
    """Issue 19: the CLI must start fast; torch loads only when a transformers model is built."""
    import ast
    import importlib

    tree = ast.parse(Path(importlib.import_module(module).__file__).read_text())
    top = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    names = {alias.name for node in top for alias in node.names} | {
        node.module or "" for node in top if isinstance(node, ast.ImportFrom)}
    assert not {name.split(".")[0] for name in names} & {"torch", "transformers"} and "sdcomp_lite.models" not in names


def test_the_client_has_one_home_that_the_ranking_stage_re_exports():
    """Issue 19: grounding (identify) and ranking share one client module instead of one stage importing the other."""
    import sdcomp_lite.lmm_client as shared
    import sdcomp_lite.ranking.llm as llm

    for name in ("OpenAICompatibleClient", "HTTPError", "chat_completion", "image_data_url", "parse_chat_completion",
                 "redact_url", "MAX_REPLY_BYTES"):
        assert getattr(llm, name) is getattr(shared, name)
    assert issubclass(llm.TransformersVLMRanker, shared.TransformersVLM)
    assert "httpx" in Path(shared.__file__).read_text() and "import httpx" not in Path(llm.__file__).read_text()
