"""Fuzzing the LMM client with hostile servers: structure-aware mutations of valid chat-completion
replies, served over real HTTP from 127.0.0.1, at three levels: the ranking text the model wrote,
the JSON envelope around it, and the HTTP/1.1 bytes (status line, headers, framing, encoding).

Each case is one request of :class:`sdcomp_lite.ranking.llm.OpenAICompatibleRanker` (``rank``) to a
:class:`HostileServer` that answers with the case's bytes. Outcomes: ``ok`` (a Ranking),
``sdcomp-error`` (HTTPError or RankingError, as promised), ``other-exception`` (a bug: a raw
traceback), ``hang`` (a bug: longer than the timeout plus 2 s). Writes to benchmarks/results/:
  fuzz_inputs_llm_replies.md    counts by outcome and by mutation kind, and every bug
  fuzz_inputs_llm_replies.json  the same as data

Run from the repository root:  nice -n 10 python benchmarks/fuzz_llm_replies.py --cases 2000 --seed 1
A case is rebuilt with ReplyCases(seed).case(index).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
Behaviour = Callable[[socket.socket, threading.Event], None]


class HostileServer:
    """An HTTP server on ``host`` (a free port) that reads each request and hands the connection
    to a behaviour, which writes whatever it likes (or drips, or never ends) and returns; the
    connection is then closed. Requests are recorded as ``{"line", "headers", "body"}``."""

    def __init__(self, behaviour: Behaviour | None = None, host: str = "127.0.0.1") -> None:
        self.behaviour = behaviour or raw(ok_response("{}"))
        self.requests: list[dict] = []
        self.stop = threading.Event()
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://{host}:{self.port}/v1"
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(5)
            try:
                request = _read_request(connection)
                if request is None:
                    return
                self.requests.append(request)
                self.behaviour(connection, self.stop)
            except OSError:  # the client hung up, as it should when a server misbehaves
                pass

    def close(self) -> None:
        self.stop.set()
        self._listener.close()
        self._accepting.join(5)
        for thread in self._threads:
            thread.join(5)

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _read_request(connection: socket.socket) -> dict | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    line, *fields = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (f.partition(":") for f in fields)}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return {"line": line, "headers": headers, "body": body}


def ok_response(body: str | bytes, headers: tuple[str, ...] = ("Content-Type: application/json",),
                status: str = "200 OK") -> bytes:
    """A complete HTTP/1.1 answer with a Content-Length."""
    data = body.encode() if isinstance(body, str) else body
    head = [f"HTTP/1.1 {status}", *headers, f"Content-Length: {len(data)}", "Connection: close"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


def completion(content) -> str:
    """A chat-completions envelope around ``content``."""
    return json.dumps({"id": "c1", "object": "chat.completion", "model": "m",
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                    "finish_reason": "stop"}], "usage": {"prompt_tokens": 9, "completion_tokens": 9}})


def raw(data: bytes) -> Behaviour:
    """Send ``data`` and close."""
    return lambda connection, stop: connection.sendall(data)


def drip(data: bytes, interval: float = 1.0) -> Behaviour:
    """Send ``data`` one byte every ``interval`` seconds (until the client gives up or the server stops)."""
    def behaviour(connection, stop):
        for index in range(len(data)):
            connection.sendall(data[index : index + 1])
            if stop.wait(interval):
                return
    return behaviour


def endless(head: bytes, piece: bytes) -> Behaviour:
    """Send ``head``, then ``piece`` again and again until the client hangs up."""
    def behaviour(connection, stop):
        connection.sendall(head)
        while not stop.is_set():
            connection.sendall(piece)
    return behaviour


def redirect(location: str) -> Behaviour:
    return raw(ok_response("", (f"Location: {location}",), status="307 Temporary Redirect"))


# -- structure-aware mutations of a valid reply --------------------------------------------------

def _ranking_text(rng: random.Random, ids: list[int]) -> str:
    order = ids[:]
    rng.shuffle(order)
    return json.dumps({"ranking": [{"id": i, "score": round(1 - k / len(order), 3), "reason": "r"} for k, i in
                                   enumerate(order)]})


def _any_char(rng: random.Random) -> str:
    code = rng.randrange(0x110000)
    return "\ufffd" if 0xD800 <= code < 0xE000 else chr(code)


def _mutate_text(rng: random.Random, text: str) -> str:
    """The model's text: cut, fenced, prose around it, ids as strings/floats/huge, deep, repeated."""
    choice = rng.randrange(9)
    if choice == 0:
        return text[: rng.randrange(len(text) + 1)]
    if choice == 1:
        return f"Sure!\n```json\n{text}\n```\nHope this helps."
    if choice == 2:
        return text.replace('"id": ', '"id": "#', 1).replace(', "score"', '", "score"', 1)
    if choice == 3:
        return text.replace('"id": ', '"id": 1' + "0" * rng.choice((20, 400, 5000)), 1)
    if choice == 4:
        depth = rng.choice((100, 5000, 100_000))
        return "[" * depth + text + "]" * rng.choice((0, depth))
    if choice == 5:
        return text * rng.randrange(2, 50)
    if choice == 6:
        return "".join(_any_char(rng) if rng.random() < 0.05 else c for c in text)
    if choice == 7:
        return text.replace("score", "importance").replace("0.", "-1e309 ", 1)
    return rng.choice(("", "null", "[]", "{}", "I cannot rank these.", '{"ranking": "1,2,3"}'))


def _mutate_envelope(rng: random.Random, content: str) -> bytes:
    """The JSON around the text: keys missing or of the wrong type, deep, huge numbers, not UTF-8."""
    envelope = json.loads(completion(content))
    choice = rng.randrange(10)
    if choice == 0:
        del envelope[rng.choice(list(envelope))]
    elif choice == 1:
        envelope["choices"] = rng.choice(([], {}, None, "x", [None], [{"message": None}], [{"message": {}}]))
    elif choice == 2:
        envelope["choices"][0]["message"]["content"] = rng.choice((None, 7, [], [{"type": "text", "text": content}],
                                                                   {"text": content}, True))
    elif choice == 3:
        text = json.dumps(envelope).replace('"prompt_tokens": 9', '"prompt_tokens": ' + "9" * rng.choice((400, 5000)))
        return text.encode()
    elif choice == 4:
        depth = rng.choice((60, 1000, 100_000))
        return json.dumps(envelope).replace('"usage": ', '"usage": ' + "[" * depth + "]" * depth + ', "u2": ').encode()
    elif choice == 5:
        data = json.dumps(envelope).encode()
        spot = rng.randrange(len(data))
        return data[:spot] + bytes([rng.choice((0x80, 0xC0, 0xFF, 0xED))]) + data[spot:]
    elif choice == 6:
        return json.dumps(envelope).encode()[: rng.randrange(1, 200)]
    elif choice == 7:
        return json.dumps(envelope).encode("utf-16")
    elif choice == 8:
        return json.dumps(envelope).replace("9", "NaN", 1).replace("0", "Infinity", 1).encode()
    else:
        return b"\xef\xbb\xbf" + json.dumps(envelope).encode()
    return json.dumps(envelope).encode()


def _mutate_http(rng: random.Random, body: bytes) -> Behaviour:
    """The HTTP/1.1 bytes: status line, headers, framing, compression, redirects, slowness."""
    choice = rng.randrange(14)
    if choice == 0:
        status = rng.choice((b"HTTP/1.1 200", b"HTTP/1.1 2OO OK", b"HTTP/9.9 200 OK", b"garbage", b"HTTP/1.1 999 Odd",
                             b"HTTP/1.1 204 No Content", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK", b""))
        return raw(ok_response(body).replace(b"HTTP/1.1 200 OK", status, 1))
    if choice == 1:
        count = rng.choice((50, 101, 150, 1000))
        return raw(ok_response(body, tuple(f"X-{i}: {'v' * rng.randrange(1, 50)}" for i in range(count))))
    if choice == 2:
        size = rng.choice((1000, 20_000, 70_000, 200_000))
        return raw(ok_response(body, ("X-Long: " + "a" * size,)))
    if choice == 3:
        length = rng.choice((0, len(body) - 1, len(body) + 10, 2_000_000_000, 10**30))
        return raw(ok_response(body).replace(f"Content-Length: {len(body)}".encode(), f"Content-Length: {length}".encode()))
    if choice == 4:
        size = rng.choice((b"zz", b"-1", b"ffffffffffffffffffff", b"1;" + b"x" * 70_000, hex(len(body) + 5)[2:].encode()))
        return raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + size + b"\r\n" + body + b"\r\n0\r\n\r\n")
    if choice == 5:
        return endless(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"10000\r\n" + b"[" * 65536 + b"\r\n")
    if choice == 6:
        packed = gzip.compress(body)
        labelled = rng.random() < 0.5
        return raw(ok_response(packed, ("Content-Encoding: gzip",) if labelled else ()))
    if choice == 7:
        bomb = gzip.compress(b" " * rng.choice((9 << 20, 64 << 20)))
        return raw(ok_response(bomb, ("Content-Encoding: gzip",)))
    if choice == 8:
        return raw(ok_response(body, (f"Content-Encoding: {rng.choice(('br', 'zstd', 'gzip, gzip', 'x'))}",)))
    if choice == 9:
        return raw(ok_response(gzip.compress(body)[: rng.randrange(5, 30)], ("Content-Encoding: gzip",)))
    if choice == 10:
        return redirect(rng.choice(("http://127.0.0.2:9/v1/chat/completions", "/v2/chat/completions", "", "http://u:p@x/")))
    if choice == 11:
        return raw(ok_response(body, (), status=rng.choice(("401 Unauthorized", "404 Not Found", "418 Teapot",
                                                            "500 Oops", "503 Busy", "429 Slow down"))))
    if choice == 12:
        return drip(ok_response(body), interval=rng.choice((0.05, 0.3)))
    data = ok_response(body)
    spot = rng.randrange(len(data))
    return raw(data[:spot] + bytes([rng.randrange(256)]) + data[spot + 1 :])


@dataclass(frozen=True)
class ReplyCase:
    index: int
    kind: str
    behaviour: Behaviour


class ReplyCases:
    """Seeded, reproducible cases: ``case(i)`` is the same for the same seed."""

    KINDS = ("text", "envelope", "http")

    def __init__(self, seed: int, ids: list[int]) -> None:
        self.seed, self.ids = seed, ids

    def case(self, index: int) -> ReplyCase:
        rng = random.Random(f"{self.seed}:{index}")
        kind = self.KINDS[index % len(self.KINDS)]
        text = _ranking_text(rng, self.ids)
        if kind == "text":
            return ReplyCase(index, kind, raw(ok_response(completion(_mutate_text(rng, text)))))
        if kind == "envelope":
            return ReplyCase(index, kind, raw(ok_response(_mutate_envelope(rng, _mutate_text(rng, text)
                                                                           if rng.random() < 0.3 else text))))
        return ReplyCase(index, kind, _mutate_http(rng, completion(text).encode()))

    def cases(self, count: int) -> Iterator[ReplyCase]:
        return (self.case(index) for index in range(count))


@dataclass(frozen=True)
class Outcome:
    index: int
    kind: str
    outcome: str  # ok, sdcomp-error, other-exception, hang
    detail: str
    seconds: float


def run_case(case: ReplyCase, image, objects, timeout: float = 1.0) -> Outcome:
    """One case against a fresh server: a ranking, a promised error, or a bug."""
    from sdcomp_lite.errors import SdcompError
    from sdcomp_lite.ranking.llm import OpenAICompatibleRanker

    with HostileServer(case.behaviour) as server:
        ranker = OpenAICompatibleRanker(base_url=server.url, model="m", api_key="sk-fuzz-key", timeout=timeout,
                                        retries=0)
        started = time.monotonic()
        try:
            ranker.rank(image, objects, "find every person")
            outcome, detail = "ok", ""
        except SdcompError as error:
            outcome, detail = "sdcomp-error", type(error).__name__
            if "sk-fuzz-key" in str(error):
                outcome, detail = "other-exception", "the API key in a message"
        except Exception as error:  # noqa: BLE001 - counting them is the point
            outcome, detail = "other-exception", f"{type(error).__name__}: {str(error)[:200]}"
        seconds = time.monotonic() - started
    if seconds > timeout + 2:
        outcome, detail = "hang", f"{seconds:.1f} s"
    return Outcome(case.index, case.kind, outcome, detail, seconds)


def summarise(outcomes: list[Outcome]) -> dict:
    names = ("ok", "sdcomp-error", "other-exception", "hang")
    counts = {name: sum(o.outcome == name for o in outcomes) for name in names}
    kinds = {kind: {name: sum(o.outcome == name and o.kind == kind for o in outcomes) for name in names}
             for kind in ReplyCases.KINDS}
    details: dict[str, int] = {}
    for o in outcomes:
        if o.outcome == "sdcomp-error":
            details[o.detail] = details.get(o.detail, 0) + 1
    bugs = [{"index": o.index, "kind": o.kind, "outcome": o.outcome, "detail": o.detail} for o in outcomes
            if o.outcome in ("other-exception", "hang")]
    return {"cases": len(outcomes), "outcomes": counts, "by_kind": kinds, "errors": details, "bugs": bugs,
            "slowest_seconds": round(max((o.seconds for o in outcomes), default=0.0), 2)}


def markdown(summary: dict) -> str:
    counts = summary["outcomes"]
    lines = ["# Fuzzing the LMM client (hostile chat-completions servers)", "",
             f"{summary['cases']} cases (seed {summary['seed']}) in {summary['seconds']} s, one real HTTP server on "
             f"127.0.0.1 per case, timeout {summary['timeout']} s per request, no retries; the slowest case took "
             f"{summary['slowest_seconds']} s. {summary['machine']}, {summary['date']}. Made by "
             "`benchmarks/fuzz_llm_replies.py`.", "",
             f"**{counts['other-exception']} tracebacks (non-SdcompError exceptions), {counts['hang']} hangs, 0 signals** "
             "(the client runs in this process: a signal would have ended the run). Lost rows: not applicable (no "
             "sweep folder is written).", "",
             "| outcome | cases | a bug? |", "| --- | ---: | --- |"]
    lines += [f"| {name} | {count} | {'yes' if name in ('other-exception', 'hang') else 'no'} |"
              for name, count in counts.items()]
    lines += ["", "| error class | cases |", "| --- | ---: |"]
    lines += [f"| {name} | {count} |" for name, count in sorted(summary["errors"].items())]
    lines += ["", "## By mutation level", "", "| level | " + " | ".join(counts) + " |",
              "| --- |" + " ---: |" * len(counts)]
    lines += [f"| {kind} | " + " | ".join(str(row[name]) for name in counts) + " |"
              for kind, row in summary["by_kind"].items()]
    lines += ["", "## Bugs", ""]
    lines += [f"- case {b['index']} ({b['kind']}): {b['outcome']}: {b['detail']}" for b in summary["bugs"]] or ["None."]
    return "\n".join(lines) + "\n"


def run(cases: int, seed: int, timeout: float) -> dict:
    from sdcomp_lite import load_sample

    sample = load_sample("coffee")
    objects = list(sample.objects)
    maker = ReplyCases(seed, [o.object_id for o in objects])
    started = time.monotonic()
    outcomes = [run_case(case, sample.image, objects, timeout) for case in maker.cases(cases)]
    summary = summarise(outcomes)
    summary.update(seed=seed, timeout=timeout, seconds=round(time.monotonic() - started, 1), date=date.today().isoformat(),
                   machine=f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=600)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1.0)
    args = parser.parse_args()
    summary = run(args.cases, args.seed, args.timeout)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fuzz_inputs_llm_replies.json").write_text(json.dumps(summary, indent=1) + "\n")
    (RESULTS / "fuzz_inputs_llm_replies.md").write_text(markdown(summary))
    print(markdown(summary))


if __name__ == "__main__":
    main()
