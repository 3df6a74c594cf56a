#!/usr/bin/env python3
"""hq-interop (HTTP/0.9 over QUIC) client and server on aioquic: a third-party interop peer.

Protocol: the client opens one bidirectional stream per file, sends ``GET /<path>\\r\\n`` and
FIN; the server answers with the file bytes and FIN. A request for a missing file, a path
escaping the served directory or a malformed request is answered with RESET_STREAM carrying
application error NOT_FOUND (0x4); the client counts a reset stream as a failed download.

    aioquic_hq.py server --listen 127.0.0.1:4433 --cert cert.pem --key priv.key --www DIR
    aioquic_hq.py client --ca ca.pem --downloads DIR https://127.0.0.1:4433/file ...

The client downloads every URL over one connection with all streams in parallel, writes each
file to <downloads>/<url path> only once it is complete, and exits 0 if every download
succeeded, 1 otherwise (usage errors exit 2). It never runs longer than --timeout seconds.
Both roles append TLS secrets to $SSLKEYLOGFILE when it is set.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import signal
import ssl
import sys
from urllib.parse import urlsplit

from aioquic.asyncio import QuicConnectionProtocol, connect, serve
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import (
    ConnectionTerminated,
    QuicEvent,
    StreamDataReceived,
    StreamReset,
)
from aioquic.tls import CipherSuite

ALPN = "hq-interop"
NOT_FOUND = 0x4  # application error code on RESET_STREAM, cf. HTTP 404
MAX_REQUEST = 4096  # longest request line the server accepts
IDLE_TIMEOUT = 30.0
# Generous flow-control windows so that large files do not wait on window updates.
MAX_DATA = 64 * 1024 * 1024
MAX_STREAM_DATA = 16 * 1024 * 1024


class PeerError(Exception):
    """A failure reported to the user as one line."""


def safe_relative(path: str) -> bool:
    """True for a non-empty relative path of plain components (no '..', '.', root or NUL)."""
    parts = path.split("/")
    return bool(path) and "\0" not in path and all(p not in ("", ".", "..") for p in parts)


def configuration(is_client: bool, chacha20: bool) -> QuicConfiguration:
    config = QuicConfiguration(
        is_client=is_client,
        alpn_protocols=[ALPN],
        idle_timeout=IDLE_TIMEOUT,
        max_data=MAX_DATA,
        max_stream_data=MAX_STREAM_DATA,
    )
    if chacha20:
        config.cipher_suites = [CipherSuite.CHACHA20_POLY1305_SHA256]
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog:
        # Append, line-buffered: several processes may share the file.
        config.secrets_log_file = open(keylog, "a", buffering=1)  # noqa: SIM115
    return config


# ----------------------------------------------------------------------------------------------
# Server


class HqServerProtocol(QuicConnectionProtocol):
    def __init__(self, *args, www: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._www = www
        # Request bytes per stream; None once the stream has been answered.
        self._requests: dict[int, bytes | None] = {}

    def quic_event_received(self, event: QuicEvent) -> None:
        if not isinstance(event, StreamDataReceived):
            return
        sid = event.stream_id
        buf = self._requests.get(sid, b"")
        if buf is None:
            return  # already answered; ignore trailing bytes / FIN
        buf += event.data
        if b"\n" in buf or event.end_stream or len(buf) > MAX_REQUEST:
            self._requests[sid] = None
            self._answer(sid, buf)
        else:
            self._requests[sid] = buf

    def _answer(self, sid: int, request: bytes) -> None:
        data = self._lookup(request)
        if data is None:
            self._quic.reset_stream(sid, NOT_FOUND)
        else:
            self._quic.send_stream_data(sid, data, end_stream=True)
        # The caller (datagram_received) transmits once all events are processed.

    def _lookup(self, request: bytes) -> bytes | None:
        if len(request) > MAX_REQUEST:
            return None
        try:
            line = request.split(b"\n", 1)[0].decode("utf-8").rstrip()
        except UnicodeDecodeError:
            return None
        if not line.startswith("GET /"):
            return None
        rel = line[len("GET /") :]
        if not safe_relative(rel):
            return None
        full = os.path.realpath(os.path.join(self._www, rel))
        if os.path.commonpath([full, self._www]) != self._www or not os.path.isfile(full):
            return None
        try:
            with open(full, "rb") as f:
                return f.read()
        except OSError:
            return None


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise PeerError(f"--listen {listen!r}: expected HOST:PORT or [V6]:PORT")
    return host.strip("[]") or "::", int(port)


async def run_server(args: argparse.Namespace) -> None:
    www = os.path.realpath(args.www)
    if not os.path.isdir(www):
        raise PeerError(f"--www {args.www}: not a directory")
    config = configuration(is_client=False, chacha20=args.chacha20)
    try:
        config.load_cert_chain(args.cert, args.key)
    except (OSError, ValueError) as e:
        raise PeerError(f"certificate/key: {e}") from e
    host, port = parse_listen(args.listen)
    try:
        server = await serve(
            host,
            port,
            configuration=config,
            create_protocol=functools.partial(HqServerProtocol, www=www),
        )
    except OSError as e:
        raise PeerError(f"cannot listen on {args.listen}: {e}") from e
    print(f"aioquic_hq: serving {www} on {args.listen}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


# ----------------------------------------------------------------------------------------------
# Client


class HqClientProtocol(QuicConnectionProtocol):
    def __init__(self, *args, status: dict, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._pending: dict[int, tuple[asyncio.Future[bytes], list[bytes]]] = {}
        self._status = status  # gets "closed": why the connection ended

    def fetch(self, path: str) -> asyncio.Future[bytes]:
        """Opens a stream, sends the request with FIN; the future resolves to the body."""
        sid = self._quic.get_next_available_stream_id()
        # Streams beyond the peer's MAX_STREAMS are queued by aioquic until credit arrives.
        self._quic.send_stream_data(sid, f"GET /{path}\r\n".encode(), end_stream=True)
        fut: asyncio.Future[bytes] = self._loop.create_future()
        self._pending[sid] = (fut, [])
        self.transmit()
        return fut

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, StreamDataReceived):
            entry = self._pending.get(event.stream_id)
            if entry is None:
                return
            entry[1].append(event.data)
            if event.end_stream:
                del self._pending[event.stream_id]
                entry[0].set_result(b"".join(entry[1]))
        elif isinstance(event, StreamReset):
            entry = self._pending.pop(event.stream_id, None)
            if entry is not None:
                entry[0].set_exception(
                    PeerError(f"stream reset by server (error 0x{event.error_code:x})")
                )
        elif isinstance(event, ConnectionTerminated):
            reason = f"connection closed (error 0x{event.error_code:x} {event.reason_phrase!r})"
            self._status.setdefault("closed", reason)
            for fut, _ in self._pending.values():
                fut.set_exception(PeerError(reason))
            self._pending.clear()


def parse_urls(urls: list[str]) -> tuple[str, int, list[str]]:
    """Returns (host, port, paths); all URLs must name the same server."""
    origin, paths = None, []
    for url in urls:
        u = urlsplit(url)
        try:
            port = u.port or 443
        except ValueError as e:
            raise PeerError(f"bad URL {url!r}: {e}") from e
        path = u.path.lstrip("/")
        if u.scheme != "https" or not u.hostname or not safe_relative(path):
            raise PeerError(f"bad URL {url!r}: need https://host[:port]/safe/path")
        if origin is None:
            origin = (u.hostname, port)
        elif origin != (u.hostname, port):
            raise PeerError(f"all URLs must use one server; {u.hostname}:{port} differs")
        paths.append(path)
    assert origin is not None
    return origin[0], origin[1], paths


async def run_client(args: argparse.Namespace, status: dict) -> None:
    host, port, paths = parse_urls(args.urls)
    config = configuration(is_client=True, chacha20=args.chacha20)
    if args.insecure:
        config.verify_mode = ssl.CERT_NONE
    else:
        config.load_verify_locations(cafile=args.ca)
    os.makedirs(args.downloads, exist_ok=True)
    try:
        async with connect(
            host,
            port,
            configuration=config,
            create_protocol=functools.partial(HqClientProtocol, status=status),
        ) as client:
            assert isinstance(client, HqClientProtocol)
            futures = [client.fetch(p) for p in paths]
            results = await asyncio.gather(*futures, return_exceptions=True)
            failures = []
            for path, result in zip(paths, results):
                if isinstance(result, BaseException):
                    failures.append(f"/{path}: {result}")
                    continue
                dest = os.path.join(args.downloads, path)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with open(dest, "wb") as f:
                    f.write(result)
            status["done"] = not failures
            if failures:
                raise PeerError(f"{len(failures)} download(s) failed; first: {failures[0]}")
            client.close()
    except ConnectionError as e:
        why = status.get("closed") or str(e) or type(e).__name__
        raise PeerError(f"handshake with {host}:{port} failed: {why}") from e
    except OSError as e:
        raise PeerError(f"{host}:{port}: {e}") from e


def quiet_connection_errors(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    # After a timeout, aioquic fails its (abandoned) handshake waiter while closing; that is
    # already reported as the timeout, so do not print it again as an unretrieved exception.
    if not isinstance(context.get("exception"), ConnectionError):
        loop.default_exception_handler(context)


async def client_main(args: argparse.Namespace) -> int:
    status: dict = {"done": False}
    asyncio.get_running_loop().set_exception_handler(quiet_connection_errors)
    try:
        await asyncio.wait_for(run_client(args, status), timeout=args.timeout)
    except asyncio.TimeoutError:
        if status["done"]:
            return 0  # every file was written; only the closing handshake was slow
        print(f"aioquic_hq: error: timed out after {args.timeout}s", file=sys.stderr)
        return 1
    except PeerError as e:
        print(f"aioquic_hq: error: {e}", file=sys.stderr)
        return 1
    return 0


# ----------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description="hq-interop (HTTP/0.9 over QUIC) peer on aioquic")
    parser.add_argument("-v", "--verbose", action="store_true", help="aioquic debug logging")
    sub = parser.add_subparsers(dest="role", required=True)

    srv = sub.add_parser("server", help="serve files from a directory until killed")
    srv.add_argument("--listen", required=True, help="HOST:PORT, e.g. 127.0.0.1:4433 or [::]:4433")
    srv.add_argument("--cert", required=True, help="PEM certificate chain, leaf first")
    srv.add_argument("--key", required=True, help="PEM private key")
    srv.add_argument("--www", required=True, help="directory to serve")
    srv.add_argument("--chacha20", action="store_true", help="only TLS_CHACHA20_POLY1305_SHA256")

    cli = sub.add_parser("client", help="download URLs over one connection")
    trust = cli.add_mutually_exclusive_group(required=True)
    trust.add_argument("--insecure", action="store_true", help="do not verify the server")
    trust.add_argument("--ca", help="verify the server against CA certificates in this PEM file")
    cli.add_argument("--downloads", required=True, help="directory to write downloads to")
    cli.add_argument("--chacha20", action="store_true", help="only TLS_CHACHA20_POLY1305_SHA256")
    cli.add_argument("--timeout", type=float, default=60.0, help="overall limit in seconds")
    cli.add_argument("urls", nargs="+", metavar="URL", help="https://host:port/path")

    args = parser.parse_args()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if args.role == "client":
        return asyncio.run(client_main(args))
    try:
        asyncio.run(run_server(args))
    except PeerError as e:
        print(f"aioquic_hq: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
