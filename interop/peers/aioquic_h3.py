#!/usr/bin/env python3
"""HTTP/3 file client and server on aioquic's H3 API: a third-party peer for our HTTP/3
interop matrix (interop/peers/h3-matrix.sh).

    aioquic_h3.py server --listen 127.0.0.1:4433 --cert cert.pem --key priv.key --www DIR
    aioquic_h3.py client --ca ca.pem --downloads DIR https://127.0.0.1:4433/file ...

The server answers ``GET /<path>`` with the file under --www (200, content-length), a
``POST`` with ``"<body length> <sha256 hex>\n"`` once the whole body arrived (upload check),
and anything else with 404; every response repeats the request's ``x-echo-*`` fields (so
repeated request fields give repeated response fields: QPACK dynamic-table use both ways). The client sends every request at once on one connection, writes
each body to <downloads>/<path> once its stream ends, and exits 0 if every response was a
complete 200, 1 otherwise (2 on usage errors), never running longer than --timeout seconds.
``--upload FILE`` POSTs FILE to every URL instead (the response body is saved the same way),
``--header 'name: value'`` (repeatable) adds a field to every request. Both roles log their
QPACK encoder/decoder stream byte counts per connection (``qpack: ...`` on stderr).
Both roles append TLS secrets to $SSLKEYLOGFILE when it is set.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import logging
import os
import signal
import ssl
import sys
import typing
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
        # POST stream id -> (sha256 so far, length so far, echoed fields)
        self._uploads: dict[int, tuple[typing.Any, list[int], list]] = {}

    def quic_event_received(self, event: QuicEvent) -> None:
        if self._h3 is None:
            self._h3 = H3Connection(self._quic)
        if isinstance(event, ConnectionTerminated):
            log_qpack("server", self._h3)
        for h3_event in self._h3.handle_event(event):
            self._h3_event(h3_event)

    def _h3_event(self, event: H3Event) -> None:
        assert self._h3 is not None
        if isinstance(event, DataReceived) and event.stream_id in self._uploads:
            digest, length, echo = self._uploads[event.stream_id]
            digest.update(event.data)
            length[0] += len(event.data)
            if event.stream_ended:
                del self._uploads[event.stream_id]
                body = f"{length[0]} {digest.hexdigest()}\n".encode()
                self._h3.send_headers(
                    event.stream_id,
                    [(b":status", b"200"), (b"content-length", str(len(body)).encode())] + echo,
                )
                self._h3.send_data(event.stream_id, body, end_stream=True)
                self.transmit()
            return
        if not isinstance(event, HeadersReceived):
            return  # other request bodies are ignored
        headers = dict(event.headers)
        echo = [(k, v) for k, v in event.headers if k.startswith(b"x-echo-")]
        method = headers.get(b":method", b"").decode()
        path = headers.get(b":path", b"/").decode().split("?", 1)[0]
        if method == "POST":
            self._uploads[event.stream_id] = (hashlib.sha256(), [0], echo)
            if event.stream_ended:  # an empty body
                self._h3_event(DataReceived(data=b"", stream_id=event.stream_id, stream_ended=True))
            return
        data = self._lookup(path) if method in ("GET", "HEAD") else None
        if data is None:
            body = b"not found\n"
            self._h3.send_headers(
                event.stream_id,
                [(b":status", b"404"), (b"content-length", str(len(body)).encode())] + echo,
            )
            self._h3.send_data(event.stream_id, body, end_stream=True)
        else:
            self._h3.send_headers(
                event.stream_id,
                [(b":status", b"200"), (b"content-length", str(len(data)).encode())] + echo,
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


def log_qpack(role: str, h3: H3Connection) -> None:
    """The connection's QPACK stream traffic: encoder bytes sent are dynamic-table inserts
    by this side, encoder bytes received are inserts by the peer."""
    print(
        f"qpack: aioquic {role} encoder_bytes_sent={h3._encoder_bytes_sent} "
        f"encoder_bytes_received={h3._encoder_bytes_received} "
        f"decoder_bytes_sent={h3._decoder_bytes_sent} "
        f"decoder_bytes_received={h3._decoder_bytes_received}",
        file=sys.stderr,
        flush=True,
    )


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
    def __init__(self, *args, status: dict, upload: bytes | None, fields: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._h3 = H3Connection(self._quic)
        self._upload = upload
        self._fields = fields
        # stream id -> (future, status, body chunks)
        self._pending: dict[int, tuple[asyncio.Future[bytes], list[int], list[bytes]]] = {}
        self._status = status

    def fetch(self, authority: str, path: str) -> asyncio.Future[bytes]:
        sid = self._quic.get_next_available_stream_id()
        upload = self._upload
        self._h3.send_headers(
            sid,
            [
                (b":method", b"GET" if upload is None else b"POST"),
                (b":scheme", b"https"),
                (b":authority", authority.encode()),
                (b":path", f"/{path}".encode()),
                (b"user-agent", b"aioquic_h3"),
            ]
            + self._fields,
            end_stream=upload is None,
        )
        if upload is not None:
            self._h3.send_data(sid, upload, end_stream=True)
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
    upload = None
    if args.upload:
        try:
            with open(args.upload, "rb") as f:
                upload = f.read()
        except OSError as e:
            raise PeerError(f"--upload {args.upload}: {e}") from e
    fields = []
    for h in args.header:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            raise PeerError(f"--header {h!r}: expected 'name: value'")
        fields.append((name.strip().lower().encode(), value.strip().encode()))
    try:
        async with connect(
            host,
            port,
            configuration=config,
            create_protocol=functools.partial(
                H3ClientProtocol, status=status, upload=upload, fields=fields
            ),
        ) as client:
            assert isinstance(client, H3ClientProtocol)
            if fields:
                # Extra fields (the matrix's QPACK dynamic-table cell): wait for the server's
                # SETTINGS, else every request is encoded before the table capacity is known.
                while client._h3.received_settings is None:
                    await asyncio.sleep(0.005)
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
            log_qpack("client", client._h3)
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
    cli.add_argument("--upload", help="POST this file to every URL instead of a GET")
    cli.add_argument(
        "--header", action="append", default=[], help="'name: value' added to every request"
    )
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
