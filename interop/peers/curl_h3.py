#!/usr/bin/env python3
"""HTTP/3 download client on curl's libcurl (ngtcp2 + nghttp3, as bundled by PyPI curl-cffi):
a third-party client for our HTTP/3 interop matrix (interop/peers/h3-matrix.sh).

    curl_h3.py (--insecure | --ca FILE) --downloads DIR [--timeout S] URL...

Every URL is fetched with HTTP/3 only (http_version=CurlHttpVersion.V3ONLY, libcurl's
CURL_HTTP_VERSION_3ONLY: no fallback to TCP) through one AsyncSession, i.e. one curl multi
handle, so the requests run in parallel and share one connection (PIPEWAIT). Each body is
written to <downloads>/<path>. Exits 0 when every response was HTTP/3 with status 200, 1
otherwise, 2 on usage errors. ``--upload FILE`` POSTs FILE to every URL instead of a GET (the
response body is saved the same way); ``--header 'name: value'`` (repeatable) adds a field to
every request. Needs `pip install curl-cffi` (interop/install-peers.sh).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from urllib.parse import urlsplit

from curl_cffi import CurlHttpVersion, CurlOpt
from curl_cffi.requests import AsyncSession


async def fetch_all(args: argparse.Namespace, paths: list[str]) -> list[str]:
    failures = []
    body = None
    if args.upload:
        with open(args.upload, "rb") as f:
            body = f.read()
    headers = {}
    for h in args.header:
        name, _, value = h.partition(":")
        headers[name.strip()] = value.strip()
    async with AsyncSession(
        verify=False if args.insecure else args.ca,
        http_version=CurlHttpVersion.V3ONLY,
        max_clients=min(len(args.urls), 100),
        curl_options={CurlOpt.PIPEWAIT: 1},
        timeout=args.timeout,
    ) as session:
        results = await asyncio.gather(
            *(
                session.get(url, headers=headers)
                if body is None
                else session.post(url, data=body, headers=headers)
                for url in args.urls
            ),
            return_exceptions=True,
        )
    for url, path, r in zip(args.urls, paths, results):
        if isinstance(r, BaseException):
            failures.append(f"{url}: {r}")
        elif r.http_version != CurlHttpVersion.V3:
            failures.append(f"{url}: not HTTP/3 (curl http version {r.http_version})")
        elif r.status_code != 200:
            failures.append(f"{url}: HTTP status {r.status_code}")
        else:
            dest = os.path.join(args.downloads, path)
            os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
            with open(dest, "wb") as f:
                f.write(r.content)
    return failures


def main() -> int:
    p = argparse.ArgumentParser(description="HTTP/3 downloads with curl (curl-cffi)")
    trust = p.add_mutually_exclusive_group(required=True)
    trust.add_argument("--insecure", action="store_true", help="do not verify the server")
    trust.add_argument("--ca", help="verify the server against this PEM CA file")
    p.add_argument("--downloads", required=True, help="directory to write downloads to")
    p.add_argument("--timeout", type=float, default=60.0, help="overall limit in seconds")
    p.add_argument("--upload", help="POST this file to every URL instead of a GET")
    p.add_argument("--header", action="append", default=[], help="'name: value' for every request")
    p.add_argument("urls", nargs="+", metavar="URL")
    args = p.parse_args()
    paths = []
    for url in args.urls:
        path = urlsplit(url).path.lstrip("/")
        if not path or any(s in ("", ".", "..") for s in path.split("/")):
            print(f"curl_h3: error: bad URL {url!r}", file=sys.stderr)
            return 2
        paths.append(path)
    if args.upload and not os.path.isfile(args.upload):
        print(f"curl_h3: error: --upload {args.upload}: not a file", file=sys.stderr)
        return 2
    try:
        failures = asyncio.run(
            asyncio.wait_for(fetch_all(args, paths), timeout=args.timeout + 5)
        )
    except asyncio.TimeoutError:
        print(f"curl_h3: error: timed out after {args.timeout}s", file=sys.stderr)
        return 1
    if failures:
        print(f"curl_h3: error: {len(failures)} failed; first: {failures[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
