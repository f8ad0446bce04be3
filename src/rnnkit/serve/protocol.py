"""The network side of ``rnnkit serve``: the listening socket, bound before the banner (``bind``), and the
HTTP/1.1 protocol uvicorn runs on it: its fast httptools parser with a bound on the request head (request
line + headers).

httptools keeps an unfinished header in a Python bytes object that grows by concatenation, so one 128 MB
header costs the event loop seconds of copying while every other request waits. Here the bytes of a head
are counted as they arrive, up to the blank line that ends it; past ``MAX_HEAD_BYTES`` the client gets a 431
``{"error": …}`` and the connection is closed before the parser sees more:

    data ─> head so far + this chunk (up to "\\r\\n\\r\\n") > limit ?  ─ yes ─> 431, close
                                                                ─ no  ─> httptools parser (as uvicorn's)

Without httptools (it is not built for Windows) uvicorn's h11 protocol is used with the same bound
(``h11_max_incomplete_event_size``); h11 answers an oversized head with a plain 400 and closes.
"""

from __future__ import annotations

import errno
import importlib.util
import json
import socket
from typing import Any

MAX_HEAD_BYTES = 64 * 1024  # request line + headers (nginx allows 4 × 8 KiB by default, h11 16 KiB)
LISTEN_BACKLOG = 2048  # uvicorn's default
END_OF_HEAD = b"\r\n\r\n"


HAVE_HTTPTOOLS = importlib.util.find_spec("httptools") is not None


def protocol_options() -> dict[str, Any]:
    """The ``uvicorn.Config`` arguments that choose the protocol and bound the head (picklable: a worker process
    of ``rnnkit serve --workers`` receives them)."""
    if not HAVE_HTTPTOOLS:
        return {"http": "h11", "h11_max_incomplete_event_size": MAX_HEAD_BYTES}
    return {"http": BoundedHeadProtocol}


if HAVE_HTTPTOOLS:  # httptools is not built for Windows: there uvicorn's h11 protocol takes the bound
    from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

    class BoundedHeadProtocol(HttpToolsProtocol):
        """uvicorn's ``HttpToolsProtocol`` refusing a head over ``MAX_HEAD_BYTES`` (431) before parsing it."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._in_head = True  # reading a request line and headers (not a body)
            self._head_bytes = 0
            self._tail = b""  # the last bytes of the head so far: "\r\n\r\n" may straddle two chunks
            self._refused = False

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return  # the connection is closing: nothing more is parsed
            if self._in_head:
                seen = self._tail + data
                end = seen.find(END_OF_HEAD)
                if end < 0:
                    self._head_bytes += len(data)
                    self._tail = seen[-(len(END_OF_HEAD) - 1):]
                else:
                    self._head_bytes += end + len(END_OF_HEAD) - len(self._tail)
                if self._head_bytes > MAX_HEAD_BYTES:
                    self._refuse_head()
                    return
            super().data_received(data)

        def on_headers_complete(self) -> None:
            self._in_head = False
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._in_head = True
            self._head_bytes = 0
            self._tail = b""
            super().on_message_complete()

        def _refuse_head(self) -> None:
            message = (f"the request line and headers have more than {MAX_HEAD_BYTES:,} bytes, the limit: send "
                       "long values in the body")
            payload = json.dumps({"error": message}).encode()
            head = [STATUS_LINE[431], b"content-type: application/json\r\n",
                    b"content-length: " + str(len(payload)).encode() + b"\r\n", b"connection: close\r\n", b"\r\n"]
            self.transport.write(b"".join(head) + payload)
            self.transport.close()
            self._refused = True


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``, or one ``OSError`` line that says what to do (before the server
    announces anything: the banner is printed only once the address is ours)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise OSError(f"cannot serve on --host {host}: the name does not resolve ({exc.strerror}); give an address "
                      "of this machine, e.g. 127.0.0.1 (this machine only) or 0.0.0.0 (the network)") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a restart need not wait
    try:
        sock.bind(address)
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise OSError(f"port {port} on {host} is in use by another program: stop it or give another "
                          "--port") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise OSError(f"cannot serve on --host {host}: it is not an address of this machine; give one of its "
                          "addresses, e.g. 127.0.0.1 or 0.0.0.0") from None
        if exc.errno == errno.EACCES:
            raise OSError(f"port {port} needs privileges on this system: give a --port of 1024 or more") from None
        raise OSError(f"cannot serve on {host}:{port}: {exc.strerror}") from None
    return sock
