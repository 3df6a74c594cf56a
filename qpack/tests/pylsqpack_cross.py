#!/usr/bin/env python3
"""Cross-check our QPACK against ls-qpack (through its Python binding, pylsqpack).

For every QIF input and every (table size, blocked streams, immediate ack) setting:
  1. ours -> theirs: `qpack-qif encode` writes an encoded file; pylsqpack's decoder
     (capacity starting at 0, as RFC 9204 says) decodes it and must give the QIF lists back;
     its decoder-stream output (acks) must be accepted by... nobody offline, but decoding
     must not raise.
  2. theirs -> ours: pylsqpack's encoder writes an encoded file in the qifs format (with
     immediate ack, a pylsqpack decoder feeds acknowledgements back to it); `qpack-qif
     decode` must give the QIF lists back.

Usage: pylsqpack_cross.py QPACK_QIF_BINARY QIFS_DIR WORK_DIR
Prints one line per failure and a final "N passed, M failed" line; exit status 1 on failure.
"""
import os
import struct
import subprocess
import sys

import pylsqpack

INPUTS = ["netbsd", "netbsd-hq", "fb-req", "fb-req-hq", "fb-resp", "fb-resp-hq"]
TABLES = [0, 256, 512, 4096]
BLOCKED = [0, 100]
ACKS = [0, 1]


def parse_qif(path):
    lists, cur = [], []
    with open(path, "rb") as f:
        for line in f.read().split(b"\n"):
            if line.startswith(b"#"):
                continue
            if not line:
                if cur:
                    lists.append(cur)
                    cur = []
                continue
            name, _, value = line.partition(b"\t")
            cur.append((name, value))
    if cur:
        lists.append(cur)
    return lists


def records(data):
    i = 0
    while i < len(data):
        sid, length = struct.unpack(">QI", data[i : i + 12])
        yield sid, data[i + 12 : i + 12 + length]
        i += 12 + length


def record(sid, payload):
    return struct.pack(">QI", sid, len(payload)) + payload


def theirs_decode(data, table, blocked):
    dec = pylsqpack.Decoder(table, blocked)
    out = {}
    for sid, payload in records(data):
        if sid == 0:
            for s in dec.feed_encoder(payload):
                _, headers = dec.resume_header(s)
                out[s] = headers
        else:
            try:
                _, headers = dec.feed_header(sid, payload)
                out[sid] = headers
            except pylsqpack.StreamBlocked:
                pass
    return [out[k] for k in sorted(out)]


def theirs_encode(lists, table, blocked, ack):
    enc = pylsqpack.Encoder()
    dec = pylsqpack.Decoder(table, blocked)
    prelude = enc.apply_settings(table, blocked)
    out = b""
    for i, headers in enumerate(lists):
        sid = i + 1
        instr, block = enc.encode(sid, headers)
        instr = prelude + instr
        prelude = b""
        if instr:
            out += record(0, instr)
        out += record(sid, block)
        if ack:
            dec.feed_encoder(instr)
            acks, _ = dec.feed_header(sid, block)
            if acks:
                enc.feed_decoder(acks)
    return out


def read_qif_output(path):
    return parse_qif(path)


def main():
    binary, qifs, work = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(work, exist_ok=True)
    passed = failed = 0
    for stem in INPUTS:
        qif = os.path.join(qifs, "qifs", stem + ".qif")
        lists = parse_qif(qif)
        for table in TABLES:
            for blocked in BLOCKED:
                for ack in ACKS:
                    tag = f"{stem}.{table}.{blocked}.{ack}"
                    # 1. ours -> theirs
                    ours = os.path.join(work, tag + ".ours")
                    args = [binary, "encode", "--table-size", str(table), "--max-blocked", str(blocked)]
                    if ack:
                        args.append("--immediate-ack")
                    subprocess.run(args + [qif, ours], check=True)
                    try:
                        got = theirs_decode(open(ours, "rb").read(), table, blocked)
                        ok = got == lists
                        why = "lists differ"
                    except Exception as e:  # a pylsqpack error is a failure of ours
                        ok, why = False, repr(e)
                    if ok:
                        passed += 1
                    else:
                        failed += 1
                        print(f"ours->pylsqpack {tag}: {why}")
                    # 2. theirs -> ours
                    theirs = os.path.join(work, tag + ".theirs")
                    with open(theirs, "wb") as f:
                        f.write(theirs_encode(lists, table, blocked, ack))
                    back = theirs + ".qif"
                    r = subprocess.run(
                        [binary, "decode", "--table-size", str(table), "--max-blocked", str(blocked), theirs, back],
                        capture_output=True,
                    )
                    if r.returncode == 0 and read_qif_output(back) == lists:
                        passed += 1
                    else:
                        failed += 1
                        print(f"pylsqpack->ours {tag}: {r.stderr.decode(errors='replace').strip() or 'lists differ'}")
    print(f"pylsqpack cross-check: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
