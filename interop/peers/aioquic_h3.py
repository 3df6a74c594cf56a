#!/usr/bin/env python3
"""HTTP/3 file client and server on aioquic's H3 API: a third-party peer for our HTTP/3
interop matrix (interop/peers/h3-matrix.sh).

    aioquic_h3.py server --listen 127.0.0.1:4433 --cert cert.pem --key priv.key --www DIR
    aioquic_h3.py client --ca ca.pem --downloads DIR https://127.0.0.1:4433/file ...

The server answers ``GET /<path>`` with the file under --www (200, content-length) and
anything else with 404. The client sends every request at once on one connection, writes
each body to <downloads>/<path> once its stream ends, and exits 0 if every response was a
complete 200, 1 otherwise (2 on usage errors), never running longer than --timeout seconds.
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
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ConnectionTerminated, QuicEvent, StreamReset

IDLE_TIMEOUT = 30.0
MAX_DATA = 64 * 1024 * 1024
MAX_STREAM_DATA = 16 * 1024 * 1024


class PeerError(Exception):
    """A failure reported to the user as one line."""


def safe_relative(path: str) -> bool:
    parts = path.split("/")
    return bool(path) and "\0" not in path and all(p not in ("", ".", "..") for p in parts)


def configuration(is_client: bool) -> QuicConfiguration:
    config = QuicConfiguration(
        is_client=is_client,
        alpn_protocols=H3_ALPN,
        idle_timeout=IDLE_TIMEOUT,
        max_data=MAX_DATA,
        max_stream_data=MAX_STREAM_DATA,
    )
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog:
        config.secrets_log_file = open(keylog, "a", buffering=1)  # noqa: SIM115
    return config


# ----------------------------------------------------------------------------------------------
# Server


class H3ServerProtocol(QuicConnectionProtocol):
    def __init__(self, *args, www: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._www = www
        self._h3: H3Connection | None = None

    def quic_event_received(self, event: QuicEvent) -> None:
        if self._h3 is None:
            self._h3 = H3Connection(self._quic)
        for h3_event in self._h3.handle_event(event):
            self._h3_event(h3_event)

    def _h3_event(self, event: H3Event) -> None:
        if not isinstance(event, HeadersReceived):
            return  # request bodies are ignored
        headers = dict(event.headers)
        method = headers.get(b":method", b"").decode()
        path = headers.get(b":path", b"/").decode().split("?", 1)[0]
        data = self._lookup(path) if method in ("GET", "HEAD") else None
        assert self._h3 is not None
        if data is None:
            body = b"not found\n"
            self._h3.send_headers(
                event.stream_id,
                [(b":status", b"404"), (b"content-length", str(len(body)).encode())],
            )
            self._h3.send_data(event.stream_id, body, end_stream=True)
        else:
            self._h3.send_headers(
                event.stream_id,
                [(b":status", b"200"), (b"content-length", str(len(data)).encode())],
                end_stream=method == "HEAD",
            )
            if method == "GET":
                self._h3.send_data(event.stream_id, data, end_stream=True)
        self.transmit()

    def _lookup(self, path: str) -> bytes | None:
        rel = path.lstrip("/")
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
    config = configuration(is_client=False)
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
            create_protocol=functools.partial(H3ServerProtocol, www=www),
        )
    except OSError as e:
        raise PeerError(f"cannot listen on {args.listen}: {e}") from e
    print(f"aioquic_h3: serving {www} on {args.listen}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


# ----------------------------------------------------------------------------------------------
# Client


class H3ClientProtocol(QuicConnectionProtocol):
    def __init__(self, *args, status: dict, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._h3 = H3Connection(self._quic)
        # stream id -> (future, status, body chunks)
        self._pending: dict[int, tuple[asyncio.Future[bytes], list[int], list[bytes]]] = {}
        self._status = status

    def fetch(self, authority: str, path: str) -> asyncio.Future[bytes]:
        sid = self._quic.get_next_available_stream_id()
        self._h3.send_headers(
            sid,
            [
                (b":method", b"GET"),
                (b":scheme", b"https"),
                (b":authority", authority.encode()),
                (b":path", f"/{path}".encode()),
                (b"user-agent", b"aioquic_h3"),
            ],
            end_stream=True,
        )
        fut: asyncio.Future[bytes] = self._loop.create_future()
        self._pending[sid] = (fut, [0], [])
        self.transmit()
        return fut

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, StreamReset):
            entry = self._pending.pop(event.stream_id, None)
            if entry is not None:
                entry[0].set_exception(
                    PeerError(f"stream reset by server (error 0x{event.error_code:x})")
                )
        elif isinstance(event, ConnectionTerminated):
            reason = f"connection closed (error 0x{event.error_code:x} {event.reason_phrase!r})"
            self._status.setdefault("closed", reason)
            for fut, _, _ in self._pending.values():
                if not fut.done():
                    fut.set_exception(PeerError(reason))
            self._pending.clear()
        for h3_event in self._h3.handle_event(event):
            entry = self._pending.get(getattr(h3_event, "stream_id", -1))
            if entry is None:
                continue
            fut, status, chunks = entry
            if isinstance(h3_event, HeadersReceived):
                if status[0] == 0:
                    status[0] = int(dict(h3_event.headers).get(b":status", b"0"))
            elif isinstance(h3_event, DataReceived):
                chunks.append(h3_event.data)
            if getattr(h3_event, "stream_ended", False):
                del self._pending[h3_event.stream_id]
                if status[0] != 200:
                    fut.set_exception(PeerError(f"HTTP status {status[0]}"))
                else:
                    fut.set_result(b"".join(chunks))


def parse_urls(urls: list[str]) -> tuple[str, int, str, list[str]]:
    origin, paths, authority = None, [], ""
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
            origin, authority = (u.hostname, port), u.netloc
        elif origin != (u.hostname, port):
            raise PeerError(f"all URLs must use one server; {u.hostname}:{port} differs")
        paths.append(path)
    assert origin is not None
    return origin[0], origin[1], authority, paths


async def run_client(args: argparse.Namespace, status: dict) -> None:
    host, port, authority, paths = parse_urls(args.urls)
    config = configuration(is_client=True)
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
            create_protocol=functools.partial(H3ClientProtocol, status=status),
        ) as client:
            assert isinstance(client, H3ClientProtocol)
            futures = [client.fetch(authority, p) for p in paths]
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
            client.close(error_code=0x100)  # H3_NO_ERROR
    except ConnectionError as e:
        why = status.get("closed") or str(e) or type(e).__name__
        raise PeerError(f"handshake with {host}:{port} failed: {why}") from e
    except OSError as e:
        raise PeerError(f"{host}:{port}: {e}") from e


def quiet_connection_errors(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    if not isinstance(context.get("exception"), ConnectionError):
        loop.default_exception_handler(context)


async def client_main(args: argparse.Namespace) -> int:
    status: dict = {"done": False}
    asyncio.get_running_loop().set_exception_handler(quiet_connection_errors)
    try:
        await asyncio.wait_for(run_client(args, status), timeout=args.timeout)
    except asyncio.TimeoutError:
        if status["done"]:
            return 0
        print(f"aioquic_h3: error: timed out after {args.timeout}s", file=sys.stderr)
        return 1
    except PeerError as e:
        print(f"aioquic_h3: error: {e}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="HTTP/3 file peer on aioquic")
    parser.add_argument("-v", "--verbose", action="store_true", help="aioquic debug logging")
    sub = parser.add_subparsers(dest="role", required=True)

    srv = sub.add_parser("server", help="serve files from a directory until killed")
    srv.add_argument("--listen", required=True, help="HOST:PORT, e.g. 127.0.0.1:4433 or [::]:4433")
    srv.add_argument("--cert", required=True, help="PEM certificate chain, leaf first")
    srv.add_argument("--key", required=True, help="PEM private key")
    srv.add_argument("--www", required=True, help="directory to serve")

    cli = sub.add_parser("client", help="download URLs over one connection")
    trust = cli.add_mutually_exclusive_group(required=True)
    trust.add_argument("--insecure", action="store_true", help="do not verify the server")
    trust.add_argument("--ca", help="verify the server against CA certificates in this PEM file")
    cli.add_argument("--downloads", required=True, help="directory to write downloads to")
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
        print(f"aioquic_h3: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
