"""The fake upstream the conformance kit drives, and a ready adapter for pytest-httpserver fakes.

The kit talks to a fake through five small methods (`Upstream`): `succeed(n, size)`, `fail(status, message)`,
`hang()`, `requests()` and `image_requests()`, plus `refuse(message)` when the fake can play the upstream's
safety system. `HTTPServerUpstream` implements all of them on a pytest-httpserver `HTTPServer`; a subclass
only says what the upstream's answers look like.
"""

from __future__ import annotations

import io
import json
import re
import select
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    from werkzeug import Request, Response

#: Longest time a hung call is held open when the client never hangs up (it then gets HTTP 504).
HANG_LIMIT_SECONDS = 15.0


@runtime_checkable
class Upstream(Protocol):
    """What the kit needs from a fake upstream. Optional: `refuse(message)` (see `HTTPServerUpstream`)."""

    def succeed(self, n: int, size: tuple[int, int]) -> None:
        """Answer image calls from now on with `n` valid images of `size` (width, height)."""

    def fail(self, status: int, message: str) -> None:
        """Answer every call from now on (image calls and any other) with HTTP `status`, in the upstream's
        error shape, carrying `message` as the upstream's error text (the kit may put the key in it)."""

    def hang(self) -> Hang:
        """Hold the next image call open without answering; report through the returned `Hang`."""

    def requests(self) -> Sequence[object]:
        """Every request received so far, whatever its endpoint."""

    def image_requests(self) -> Sequence[object]:
        """The received requests that ask for images (generate, edit, variation endpoints)."""


@dataclass
class Hang:
    """A call the fake holds open: `started` is set when it arrived, `closed` when the client hung up."""

    started: threading.Event = field(default_factory=threading.Event)
    closed: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def hold(self, connection: socket.socket, limit: float | None = None) -> bool:
        """Block until the peer closes `connection` (True), or `release()` / `limit` seconds (False;
        default `HANG_LIMIT_SECONDS`)."""
        self.started.set()
        deadline = time.monotonic() + (HANG_LIMIT_SECONDS if limit is None else limit)
        while time.monotonic() < deadline and not self.released.is_set():
            readable, _, _ = select.select([connection], [], [], 0.05)
            if not readable:
                continue
            try:
                peeked = connection.recv(1, socket.MSG_PEEK)
            except OSError:
                peeked = b""
            if not peeked:
                self.closed.set()
                return True
            time.sleep(0.05)  # unexpected bytes (a pipelined request): keep waiting for the hang-up
        return False

    def release(self) -> None:
        """Stop holding the call (the kit calls this when its cancellation check ends)."""
        self.released.set()


@dataclass(frozen=True)
class RecordedRequest:
    """One request a fake received, as `HTTPServerUpstream` records it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes = field(repr=False)

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


def png_bytes(size: tuple[int, int] = (64, 64), colour: tuple[int, ...] = (40, 120, 200), mode: str = "RGB") -> bytes:
    """A PNG of one colour: what a fake upstream can answer with."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


class HTTPServerUpstream:
    """`Upstream` on a pytest-httpserver `HTTPServer` (bound to 127.0.0.1 or localhost).

    It installs one catch-all handler and answers from a mode the kit sets. Subclass it and implement
    `image_response`; override `error_response` (default: an OpenAI-style `{"error": {...}}` body),
    `other_response` (what non-image endpoints, such as the one `validate()` calls, answer when healthy),
    `refusal_response` (how the upstream's safety system refuses; the refusal check needs it)
    and `image_path` (which paths are image calls).
    """

    #: Paths that ask for images; everything else is answered by `other_response` unless a failure is set.
    image_path: ClassVar[re.Pattern[str]] = re.compile(r"/images/(generations|edits|variations)$")

    def __init__(self, server: Any) -> None:
        self.server = server
        self._lock = threading.Lock()
        self._mode: tuple[Any, ...] = ("idle",)
        self._requests: list[RecordedRequest] = []
        self._image_requests: list[RecordedRequest] = []
        server.expect_request(re.compile(".*")).respond_with_handler(self._dispatch)

    # -- what a subclass provides ------------------------------------------------------------------

    def image_response(self, request: RecordedRequest, n: int, size: tuple[int, int]) -> Response:
        """The upstream's successful answer to an image call: `n` images of `size`."""
        raise NotImplementedError

    def error_response(self, status: int, message: str) -> Response:
        """The upstream's error answer (default: OpenAI's shape)."""
        return self.json_response({"error": {"message": message, "type": "error", "code": None}}, status=status)

    def refusal_response(self, message: str) -> Response:
        """How the upstream's safety system refuses an image call; override to enable the refusal check."""
        raise NotImplementedError

    def other_response(self, request: RecordedRequest) -> Response:
        """The answer to a call that is not an image call (e.g. the model list `validate()` reads)."""
        return self.json_response({})

    # -- helpers for subclasses -----------------------------------------------------------------------

    @staticmethod
    def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        from werkzeug import Response

        return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")

    @staticmethod
    def bytes_response(data: bytes, content_type: str = "image/png", status: int = 200) -> Response:
        from werkzeug import Response

        return Response(data, status=status, content_type=content_type)

    # -- the kit's hooks --------------------------------------------------------------------------------

    def succeed(self, n: int, size: tuple[int, int]) -> None:
        self._set("succeed", n, size)

    def fail(self, status: int, message: str) -> None:
        self._set("fail", status, message)

    def refuse(self, message: str) -> None:
        self.refusal_response(message)  # raises NotImplementedError when the subclass cannot refuse
        self._set("refuse", message)

    def hang(self) -> Hang:
        hang = Hang()
        self._set("hang", hang)
        return hang

    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def image_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._image_requests)

    # -- dispatch ---------------------------------------------------------------------------------------

    def _set(self, *mode: Any) -> None:
        with self._lock:
            self._mode = mode

    def is_image_request(self, request: RecordedRequest) -> bool:
        return bool(self.image_path.search(request.path))

    def _dispatch(self, request: Request) -> Response:
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=request.query_string.decode("latin-1"),
            headers=dict(request.headers),
            body=request.get_data(),
        )
        is_image = self.is_image_request(recorded)
        with self._lock:
            self._requests.append(recorded)
            if is_image:
                self._image_requests.append(recorded)
            mode = self._mode
        kind, args = mode[0], mode[1:]
        if kind == "fail":
            return self.error_response(*args)
        if not is_image:
            return self.other_response(recorded)
        if kind == "succeed":
            return self.image_response(recorded, *args)
        if kind == "refuse":
            return self.refusal_response(*args)
        if kind == "hang":
            hang: Hang = args[0]
            hang.hold(request.environ["werkzeug.socket"])
            return self.error_response(504, "the fake upstream held this call open")
        return self.error_response(500, "the fake upstream was not told how to answer this image call")
