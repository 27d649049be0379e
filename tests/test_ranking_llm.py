"""The LMM rankers: a real HTTP server on 127.0.0.1, and a tiny random LLaVA through transformers."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from sdcomp_lite import load_sample
from sdcomp_lite.ranking import RankingError, get_ranker
from sdcomp_lite.ranking.llm import HTTPError
from sdcomp_lite.tiny_models import save_tiny_llava


class ChatServer:
    """A chat-completions server that answers from a queue of (status, body) and records requests."""

    def __init__(self):
        self.answers, self.requests = [], []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                server.requests.append({"path": self.path, "headers": dict(self.headers),
                                        "body": json.loads(self.rfile.read(length))})
                status, body = server.answers.pop(0) if server.answers else (500, "empty queue")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode() if isinstance(body, str) else json.dumps(body).encode())

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def reply(self, content: str):
        self.answers.append((200, {"choices": [{"message": {"role": "assistant", "content": content}}]}))

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    chat = ChatServer()
    yield chat
    chat.close()


@pytest.fixture(scope="module")
def coffee():
    sample = load_sample("coffee")
    return sample.image, list(sample.objects)


def test_http_ranker_sends_image_and_prompt_and_parses_reply(server, coffee):
    image, objects = coffee
    spoon = next(o.object_id for o in objects if o.label == "spoon")
    server.reply(f'```json\n{{"ranking": [{{"id": {spoon}, "score": 0.9, "reason": "asked about"}}]}}\n```')
    ranker = get_ranker("openai-compatible", base_url=server.url, model="tiny", api_key="sk-secret-123")
    ranking = ranker.rank(image, objects, "is there a spoon?")
    assert ranking.order[0] == spoon and len(ranking.order) == 3
    assert ranking.reasons[spoon] == "asked about" and ranking.repairs
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-secret-123"
    content = request["body"]["messages"][1]["content"]
    assert content[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert "is there a spoon?" in content[0]["text"] and "spoon" in ranking.prompt
    assert "sk-secret" not in repr(ranker)


def test_http_ranker_retries_server_errors(server, coffee):
    image, objects = coffee
    server.answers.append((503, "busy"))
    server.reply(json.dumps({"ranking": [o.object_id for o in objects]}))
    ranker = get_ranker("openai-compatible", base_url=server.url, model="tiny", retries=2, backoff=0.01)
    assert len(ranker.rank(image, objects, "general").order) == 3
    assert len(server.requests) == 2


def test_http_errors_are_reported_without_the_key(server, coffee):
    image, objects = coffee
    server.answers += [(401, "no")]
    ranker = get_ranker("openai-compatible", base_url=server.url, model="tiny", api_key="sk-secret-123", backoff=0.01)
    with pytest.raises(HTTPError, match="HTTP 401") as info:
        ranker.rank(image, objects, "general")
    assert "sk-secret" not in str(info.value)
    assert len(server.requests) == 1, "client errors are not retried"


def test_unreachable_server_and_timeouts(coffee):
    image, objects = coffee
    ranker = get_ranker("openai-compatible", base_url="http://127.0.0.1:9/v1", model="x", retries=1, backoff=0.01, timeout=1)
    with pytest.raises(HTTPError, match="2 attempt"):
        ranker.rank(image, objects, "general")


def test_malformed_reply_raises_and_keeps_it(server, coffee):
    image, objects = coffee
    server.reply("I would rather not.")
    with pytest.raises(RankingError, match="I would rather not"):
        get_ranker("openai-compatible", base_url=server.url, model="tiny").rank(image, objects, "general")
    server.answers.append((200, {"unexpected": True}))
    with pytest.raises(HTTPError, match="not a chat completion"):
        get_ranker("openai-compatible", base_url=server.url, model="tiny").rank(image, objects, "general")


def test_tiny_vlm_garbage_reply_exercises_the_parser(tmp_path, coffee):
    image, objects = coffee
    ranker = get_ranker("transformers-vlm", model=str(save_tiny_llava(tmp_path / "llava")), max_new_tokens=16)
    blank = Image.new("RGB", (40, 30))
    reply = ranker.ask(blank, "rank these")
    assert isinstance(reply, str) and reply == ranker.ask(blank, "rank these"), "greedy decoding is deterministic"
    with pytest.raises(RankingError):
        ranker.rank(image, objects, "general")


def test_a_slow_server_times_out(coffee):
    import time
    from http.server import BaseHTTPRequestHandler

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self):
            time.sleep(1.5)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        image, objects = coffee
        url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        ranker = get_ranker("openai-compatible", base_url=url, model="slow", timeout=0.3, retries=1, backoff=0.01)
        with pytest.raises(HTTPError, match="2 attempt"):
            ranker.rank(image, objects, "general")
    finally:
        httpd.shutdown()
        httpd.server_close()
