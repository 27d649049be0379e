"""The OpenAI-compatible chat-completions client and a vision-language chat model in this process: what
the stages that ask a (multimodal) language model share (ranking asks it to rank, grounding to identify).

The HTTP client (:class:`OpenAICompatibleClient`, built on httpx) treats the server as untrusted:

- ``timeout`` bounds each whole attempt (connecting, sending, the headers and the body), not each
  read: a server that drips one byte a second is cut off when the time is up;
- the reply is read up to :data:`MAX_REPLY_BYTES` (after decompression) and no further; at most
  :data:`MAX_HEADERS` headers of at most :data:`MAX_HEADER_BYTES` bytes in all are accepted;
- redirects are never followed (the key would travel to whoever the server names), and proxies
  or credentials from the environment are not used;
- whatever the server sends, the caller gets a reply text or an :class:`HTTPError` that says what
  to do; the API key and the password of a ``user:password@`` address never appear in a message.

:class:`TransformersVLM` is a chat model through transformers; torch and transformers load when it is built,
so importing this module stays light. Both have ``ask(image, prompt, system=None) -> str``.

Taught in notebooks/02_lmm_ranking.ipynb and notebooks/06_bring_your_own_models.ipynb.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import socket
import threading
import time
import zlib

import httpx
from PIL import Image

from sdcomp_lite.errors import BackendUnavailableError, InvalidParameterError, SdcompError
from sdcomp_lite.images import to_rgb_array

MAX_REPLY_BYTES = 8 << 20  # a chat completion is a few kB; 8 MiB leaves room for long reasons
MAX_HEADERS = 100  # what http.client allows
MAX_HEADER_BYTES = 32 << 10  # all header names and values together
MAX_URL_CHARS = 2048
_BIG_INT_DIGITS = 100  # longer integers in the envelope become floats (never the 4300-digit ValueError)


class HTTPError(SdcompError, RuntimeError):
    """The chat-completions server could not be reached, or its answer is not a usable chat completion."""


class _Transient(Exception):
    """An attempt failed in a way that may not happen again (a timeout, a refused connection, HTTP 5xx or 429)."""


def redact_url(url: str) -> str:
    """``url`` with the password of a ``user:password@`` part replaced by ``***`` (for messages and reprs)."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not at:
        return url
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host}{slash}{path}"


def _check_text(value, what: str, limit: int, secret: bool = False) -> str:
    """A header-safe string: printable ASCII (a space allowed), at most ``limit`` characters."""
    if not isinstance(value, str):
        raise InvalidParameterError(f"{what} must be a string, got {type(value).__name__}.")
    bad = next((i for i, c in enumerate(value) if not " " <= c <= "~"), None)
    if bad is not None:
        shown = "" if secret else f" ({value[bad]!r})"
        raise InvalidParameterError(
            f"{what} holds a character that cannot travel in an HTTP header at position {bad}{shown}: a line break, "
            "a control character or a non-ASCII letter. Copy it again without the line break (check the variable "
            "or file it comes from).")
    if len(value) > limit:
        raise InvalidParameterError(f"{what} has {len(value)} characters; at most {limit} are accepted.")
    return value


def _check_base_url(url: str) -> tuple[httpx.URL, httpx.Auth | None]:
    """The parsed address without its ``user:password@`` part, and basic authentication from that part."""
    shown = redact_url(url) if isinstance(url, str) else url
    _check_text(url, "base_url", MAX_URL_CHARS, secret=True)
    if " " in url:
        raise InvalidParameterError(f"base_url {shown!r} holds a space; give an address such as http://127.0.0.1:11434/v1.")
    try:
        parsed = httpx.URL(url)
        port = parsed.port
    except (httpx.InvalidURL, ValueError, TypeError) as error:
        raise InvalidParameterError(f"base_url {shown!r} is not an address ({_scrub_text(str(error), url)}); give "
                                    "one such as http://127.0.0.1:11434/v1.") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidParameterError(f"base_url {shown!r} must start with http:// or https:// and name a host, e.g. "
                                    "http://127.0.0.1:11434/v1 for Ollama.")
    if parsed.query or parsed.fragment:
        raise InvalidParameterError(f"base_url {shown!r} has a query or a fragment (?... or #...); give the API's "
                                    "base address only, e.g. http://127.0.0.1:11434/v1.")
    if port is not None and not 0 < port < 65536:
        raise InvalidParameterError(f"base_url {shown!r} names port {port}; ports run from 1 to 65535.")
    auth = httpx.BasicAuth(parsed.username, parsed.password) if (parsed.username or parsed.password) else None
    return parsed.copy_with(username=None, password=None), auth


def _scrub_text(text: str, *secrets: str) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class _Deadline:
    """Bounds one whole request to ``seconds``: when the time is up, a watchdog shuts the
    connection's socket (found through httpx's ``trace`` extension), which ends any read or write
    in progress, however slowly the server drips its bytes."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def trace(self, event: str, info: dict) -> None:
        """httpx's trace hook: remember each socket the request opens (TCP, then TLS)."""
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        try:  # the plain socket's shutdown, also under TLS: it wakes a blocked recv without touching the TLS state
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass

    def cancel(self) -> None:
        self._timer.cancel()


class _Inflater:
    """The reply body as sent (identity) or decompressed (gzip, deflate), never past ``limit`` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        codings = [c.strip() for c in encoding.lower().split(",") if c.strip() and c.strip() != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise HTTPError(f"the server compressed its answer with {encoding[:40]!r}, which this client does not "
                            "read; configure the server to send plain or gzip-compressed JSON.")
        wbits = {"gzip": 31, "x-gzip": 31, "deflate": 15}.get(codings[0]) if codings else None
        self._inflater = zlib.decompressobj(wbits) if wbits else None
        self.limit, self.parts, self.size = limit, [], 0

    def feed(self, raw: bytes) -> None:
        if self._inflater is None:
            self._add(raw)
            return
        try:
            while raw:
                self._add(self._inflater.decompress(raw, self.limit + 1 - self.size))
                raw = self._inflater.unconsumed_tail
                if self._inflater.eof and (raw or self._inflater.unused_data):
                    raise HTTPError("the server's compressed answer has data after its end; check the server.")
        except zlib.error as error:
            raise HTTPError(f"the server's compressed answer is damaged ({error}); check the server or its proxy.") from None

    def _add(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise HTTPError(f"the server's answer is larger than {self.limit} bytes; a chat completion is a few kB. "
                            "Check base_url (is it the chat-completions API?) or raise max_reply_bytes.")
        self.parts.append(data)

    def result(self) -> bytes:
        if self._inflater is not None and not self._inflater.eof:
            raise HTTPError("the server's compressed answer ends early; check the server or its proxy.")
        return b"".join(self.parts)


def _big_int(text: str) -> int | float:
    return int(text) if len(text) <= _BIG_INT_DIGITS else float(text)


def parse_chat_completion(data: bytes) -> str:
    """The reply text of a chat-completions answer (``choices[0].message.content``); :class:`HTTPError`
    for anything else (not UTF-8, not JSON, nested too deep, no text)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise HTTPError(f"the server's answer is not UTF-8 text ({error.reason} at byte {error.start}); is base_url "
                        "the chat-completions API of an OpenAI-compatible server?") from None
    try:
        answer = json.loads(text, parse_int=_big_int)
    except RecursionError:
        raise HTTPError("the server's answer nests JSON too deeply to read (a chat completion nests about 5 levels); "
                        "check the server.") from None
    except ValueError as error:
        raise HTTPError(f"the server's answer is not JSON ({' '.join(str(error).split())[:100]}); it starts "
                        f"{text[:80]!r}. Is base_url the chat-completions API?") from None
    try:
        content = answer["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        keys = sorted(map(str, answer))[:8] if isinstance(answer, dict) else type(answer).__name__
        raise HTTPError(f"the server's answer is not a chat completion (no choices[0].message.content; it holds "
                        f"{keys}); is base_url the chat-completions API?") from None
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict)
                          and isinstance(part.get("text"), str)) if content else None
    if not isinstance(content, str):
        raise HTTPError(f"the chat completion's message content is {type(content).__name__}, not text; the model gave "
                        "no answer (check the model's name and that it accepts images).")
    return content


def image_data_url(image) -> str:
    """An image (PIL, path or uint8 array) as a PNG ``data:`` URL, the way chat-completions servers take images."""
    pixels = image if isinstance(image, Image.Image) else Image.fromarray(to_rgb_array(image))
    buffer = io.BytesIO()
    pixels.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class OpenAICompatibleClient:
    """One chat-completions endpoint (Ollama, vLLM, llama.cpp, LM Studio, ...), asked one question at a time.

    ``base_url`` (e.g. ``http://127.0.0.1:11434/v1``), ``model`` and ``api_key`` come from the
    arguments or from SDCOMP_LMM_BASE_URL, SDCOMP_LMM_MODEL and SDCOMP_LMM_API_KEY. The key is
    sent as a bearer token; a ``user:password@`` part of the address as basic authentication.
    ``timeout`` (seconds) bounds each whole attempt; connection failures, timeouts, HTTP 429 and
    5xx are tried again up to ``retries`` times after ``backoff * 2**attempt`` seconds, so one call
    takes at most ``(retries + 1) * timeout`` plus the waits. Bad arguments raise
    :class:`~sdcomp_lite.errors.InvalidParameterError`; a failed request :class:`HTTPError`.
    ``purpose`` names the caller in the message for a missing server or model (e.g. ``"the openai-compatible
    identifier"``).
    """

    def __init__(self, base_url: str | None = None, model: str | None = None, api_key: str | None = None,
                 timeout: float = 60.0, retries: int = 2, backoff: float = 1.0,
                 max_reply_bytes: int = MAX_REPLY_BYTES, purpose: str = "an OpenAI-compatible client") -> None:
        base_url = base_url if base_url is not None else os.environ.get("SDCOMP_LMM_BASE_URL", "")
        model = model if model is not None else os.environ.get("SDCOMP_LMM_MODEL", "")
        if not base_url or not model:
            raise BackendUnavailableError(
                f"{purpose} needs a server and a model: pass base_url= and model= or set "
                "SDCOMP_LMM_BASE_URL (e.g. http://127.0.0.1:11434/v1 for Ollama) and SDCOMP_LMM_MODEL."
            )
        api_key = api_key if api_key is not None else os.environ.get("SDCOMP_LMM_API_KEY", "")
        self._api_key = _check_text(api_key, "the API key", 4096, secret=True)
        self._raw_url = base_url
        self._url, self._auth = _check_base_url(base_url)
        self.base_url = redact_url(base_url).rstrip("/")  # for messages: never the password
        self.model = _check_text(model, "model", 256)
        self.timeout = _positive(timeout, "timeout", 24 * 3600.0)
        self.backoff = 0.0 if backoff == 0 else _positive(backoff, "backoff", 600.0)
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
            raise InvalidParameterError(f"retries must be a whole number from 0 to 10, got {retries!r}.")
        if isinstance(max_reply_bytes, bool) or not isinstance(max_reply_bytes, int) or max_reply_bytes < 1:
            raise InvalidParameterError(f"max_reply_bytes must be a positive whole number, got {max_reply_bytes!r}.")
        self.retries, self.max_reply_bytes = retries, max_reply_bytes

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        return f"{type(self).__name__}(base_url={self.base_url!r}, model={self.model!r}, api_key={key})"

    def ask(self, image, prompt: str, system: str | None = None) -> str:
        """The model's reply to ``prompt`` about ``image`` (PIL, path or uint8 array), with ``system``
        as the system message (none if None); greedy (temperature 0)."""
        content = [{"type": "text", "text": prompt}, {"type": "image_url", "image_url": {"url": image_data_url(image)}}]
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": content}]
        return self.complete(messages)

    def complete(self, messages: list[dict]) -> str:
        """The reply text to a list of chat messages (OpenAI's format), at temperature 0."""
        try:
            payload = json.dumps({"model": self.model, "temperature": 0, "messages": messages}).encode()
        except (TypeError, ValueError) as error:
            raise InvalidParameterError(f"the messages cannot be sent as JSON: {error}") from None
        return parse_chat_completion(self._post("/chat/completions", payload))

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json", "Accept-Encoding": "gzip, identity"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _post(self, path: str, payload: bytes) -> bytes:
        """The answer's body, after retries; raises :class:`HTTPError` naming the address (never the password)."""
        url = self._url.copy_with(path=self._url.path.rstrip("/") + path)
        where = f"{self.base_url}{path}"
        last = ""
        for attempt in range(self.retries + 1):
            try:
                return self._attempt(url, payload)
            except _Transient as error:
                last = str(error)
            except HTTPError as error:
                raise HTTPError(self._scrub(f"{where}: {error}")) from None
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
        raise HTTPError(self._scrub(f"{where} failed after {attempt + 1} attempt(s): {last}. Check that the server "
                                    "runs at this address and answers within the timeout (timeout= seconds)."))

    def _attempt(self, url: httpx.URL, payload: bytes) -> bytes:
        """One request under one deadline; raises :class:`_Transient` for what a retry may cure."""
        deadline = _Deadline(self.timeout)
        try:
            with httpx.Client(timeout=httpx.Timeout(self.timeout), follow_redirects=False, trust_env=False,
                              auth=self._auth) as client:
                with client.stream("POST", url, content=payload, headers=self._headers(),
                                   extensions={"trace": deadline.trace}) as response:
                    self._check_response(response)
                    return self._read_body(response, deadline)
        except httpx.TimeoutException:
            raise _Transient(f"no complete answer within {self.timeout:g} s") from None
        except httpx.HTTPError as error:
            if deadline.expired:
                raise _Transient(f"no complete answer within {self.timeout:g} s") from None
            if isinstance(error, httpx.ProtocolError):
                raise HTTPError(f"the server's answer is not valid HTTP/1.1 ({_one_line(error)}); check base_url and "
                                "the server.") from None
            raise _Transient(f"{type(error).__name__}: {_one_line(error)}") from None
        except OSError as error:  # from the socket layer, outside httpx's mapping
            raise _Transient(f"{type(error).__name__}: {_one_line(error)}") from None
        finally:
            deadline.cancel()

    def _check_response(self, response: httpx.Response) -> None:
        raw = response.headers.raw
        if len(raw) > MAX_HEADERS or sum(len(k) + len(v) for k, v in raw) > MAX_HEADER_BYTES:
            raise HTTPError(f"the server sent {len(raw)} headers ({sum(len(k) + len(v) for k, v in raw)} bytes); at "
                            f"most {MAX_HEADERS} headers of {MAX_HEADER_BYTES} bytes in all are accepted. Check the "
                            "server or the proxy in front of it.")
        status, reason = response.status_code, "".join(c if c.isprintable() else "?" for c in response.reason_phrase[:80])
        if 300 <= status < 400:
            location = redact_url(response.headers.get("location", "")[:200])
            raise HTTPError(f"the server redirects (HTTP {status}) to {location!r}; redirects are not followed, so "
                            "that the key never travels elsewhere. Set base_url to the final address.")
        if status == 429 or status >= 500:
            raise _Transient(f"HTTP {status} {reason}")
        if status >= 400:
            hint = " (check the API key)" if status in (401, 403) else " (check base_url and model)" if status == 404 else ""
            raise HTTPError(f"HTTP {status} {reason}{hint}")
        if status != 200:
            raise HTTPError(f"HTTP {status} {reason}: a chat completion comes with HTTP 200.")
        length = response.headers.get("content-length", "")
        if length.isdigit() and len(length) < 30 and int(length) > self.max_reply_bytes:
            raise HTTPError(f"the server announces {length} bytes; at most {self.max_reply_bytes} are read (a chat "
                            "completion is a few kB). Check base_url, or raise max_reply_bytes.")

    def _read_body(self, response: httpx.Response, deadline: _Deadline) -> bytes:
        body = _Inflater(response.headers.get("content-encoding", ""), self.max_reply_bytes)
        for chunk in response.iter_raw():
            if deadline.remaining() <= 0:
                raise _Transient(f"no complete answer within {self.timeout:g} s")
            body.feed(chunk)
        return body.result()

    def _scrub(self, text: str) -> str:
        """``text`` without the API key or the address's password."""
        password = httpx.URL(self._raw_url).password if "@" in self._raw_url else ""
        return _scrub_text(text, self._api_key, password or "")


def _positive(value, what: str, limit: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and 0 < value <= limit):
        raise InvalidParameterError(f"{what} must be a number of seconds above 0 and at most {limit:g}, got {value!r}.")
    return float(value)


def _one_line(error: BaseException, limit: int = 160) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def chat_completion(base_url: str, model: str, api_key: str, messages: list[dict], timeout: float = 60.0) -> str:
    """One chat completion: the reply text to ``messages`` (OpenAI's format) from the server at ``base_url``."""
    return OpenAICompatibleClient(base_url, model, api_key, timeout=timeout).complete(messages)


class TransformersVLM:
    """A vision-language chat model through transformers (``AutoModelForImageTextToText``).

    ``model`` is a local folder or a hub id (Qwen2-VL, SmolVLM, LLaVA, ...). Decoding is greedy,
    so the same inputs give the same reply. torch and transformers load when it is built.
    """

    def __init__(self, model: str, max_new_tokens: int = 256) -> None:
        from sdcomp_lite.models import load_pretrained

        self.max_new_tokens = max_new_tokens
        self.processor, self.model = load_pretrained(model, "AutoModelForImageTextToText")

    def ask(self, image: Image.Image, prompt: str, system: str | None = None) -> str:
        """The model's reply to ``prompt`` about ``image``, with ``system`` (none if None) before the prompt."""
        import torch

        words = f"{system}\n\n{prompt}" if system else prompt
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": words}]}]
        text = self.processor.apply_chat_template(messages, add_generation_prompt=True)
        inputs = self.processor(images=[image], text=[text], return_tensors="pt")
        with torch.no_grad():
            generated = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        new_tokens = generated[:, inputs["input_ids"].shape[1] :]
        return self.processor.batch_decode(new_tokens, skip_special_tokens=True)[0]
