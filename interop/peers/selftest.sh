#!/usr/bin/env bash
# Proves the hq-interop peers work against each other on loopback (127.0.0.1 and ::1):
# every client (aioquic, quinn) against every server (aioquic, quinn), itself included, for
#   handshake     one 1 KiB file
#   transfer      a 1 MiB and a 10 MiB file (random bytes)
#   multiplexing  2,000 small files on one connection
#   chacha20      client and server offer only TLS_CHACHA20_POLY1305_SHA256; --insecure client
# A cell passes when the client exits 0, its downloads dir holds exactly the requested files,
# each byte-identical to the served one, and the client wrote a TLS key log ($SSLKEYLOGFILE).
# All clients verify the server against a test CA (cert.pem = CA-signed EC P-256 leaf with SAN
# server/localhost/127.0.0.1/::1, priv.key = SEC1 with an EC PARAMETERS block, like the runner's)
# except in the chacha20 column, which exercises --insecure.
#
# Needs: interop/install-peers.sh done (aioquic importable, quinn-hq built), openssl, timeout.
# Environment: PYTHON (default python3), CARGO_TARGET_DIR, KEEP=1 keeps the work dir,
#              CLIENT_TIMEOUT (seconds per cell, default 120).
# Exit 0 when every cell passes.
set -euo pipefail

PEERS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$PEERS/../.." && pwd)
PYTHON=${PYTHON:-python3}
QUINN=${CARGO_TARGET_DIR:-$ROOT/target}/release/quinn-hq
OURS=${CARGO_TARGET_DIR:-$ROOT/target}/release/quic-interop
AIOQUIC=$PEERS/aioquic_hq.py
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-120}
IMPLS=(${IMPLS:-ours aioquic quinn})
FAMILIES=(v4 v6)
TESTS=(handshake transfer multiplexing chacha20)

for tool in openssl timeout split; do
    command -v "$tool" >/dev/null || { echo "selftest: $tool not found" >&2; exit 1; }
done
[ -x "$QUINN" ] || { echo "selftest: $QUINN missing; run interop/install-peers.sh" >&2; exit 1; }
[ -x "$OURS" ] || { echo "selftest: $OURS missing; cargo build --release -p interop" >&2; exit 1; }
"$PYTHON" -c 'import aioquic' 2>/dev/null ||
    { echo "selftest: aioquic not importable by $PYTHON; run interop/install-peers.sh" >&2; exit 1; }

WORK=$(mktemp -d /tmp/hq-selftest.XXXXXX)
SERVER_PIDS=()
cleanup() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then
        echo "selftest: work dir kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

# --- certificates (EC P-256, SEC1 keys with EC PARAMETERS, leaf signed by a test CA) ---------
make_certs() {
    local d=$WORK/certs
    mkdir -p "$d"
    openssl ecparam -name prime256v1 -genkey -out "$d/ca.key"
    openssl req -x509 -new -key "$d/ca.key" -sha256 -days 10 -subj "/O=hq selftest CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
        -out "$d/ca.pem"
    openssl ecparam -name prime256v1 -genkey -out "$d/priv.key"
    openssl req -new -key "$d/priv.key" -subj "/O=hq selftest leaf" -out "$d/leaf.csr"
    printf 'subjectAltName=DNS:server,DNS:localhost,IP:127.0.0.1,IP:::1\n' >"$d/leaf.ext"
    openssl x509 -req -in "$d/leaf.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
        -days 10 -sha256 -extfile "$d/leaf.ext" -out "$d/cert.pem"
    grep -q 'BEGIN EC PARAMETERS' "$d/priv.key"
}

# --- files ------------------------------------------------------------------------------------
make_files() {
    local www=$WORK/www
    mkdir -p "$www"
    head -c 1024 /dev/urandom >"$www/file-1k"
    head -c 1048576 /dev/urandom >"$www/file-1m"
    head -c 10485760 /dev/urandom >"$www/file-10m"
    # 2,000 files of 64 random bytes: mux-0000 .. mux-1999.
    head -c $((2000 * 64)) /dev/urandom | (cd "$www" && split -b 64 -a 4 -d - mux-)
    [ "$(find "$www" -name 'mux-*' | wc -l)" -eq 2000 ]
}

files_for() {
    case $1 in
        handshake | chacha20) echo file-1k ;;
        transfer) printf '%s\n' file-1m file-10m ;;
        multiplexing) (cd "$WORK/www" && printf '%s\n' mux-*) ;;
    esac
}

free_port() { # family
    local host=127.0.0.1
    [ "$1" = v6 ] && host=::1
    "$PYTHON" -c 'import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$host"
}

authority() { # family port
    if [ "$1" = v6 ]; then echo "[::1]:$2"; else echo "127.0.0.1:$2"; fi
}

peer_cmd() { # impl role -> CMD array
    case $1 in
        quinn) CMD=("$QUINN" "$2") ;;
        ours) CMD=("$OURS" "$2") ;;
        aioquic) CMD=("$PYTHON" -B "$AIOQUIC" "$2") ;;
    esac
}

# --- servers: per implementation and family, one plain and one ChaCha20-only -----------------
declare -A PORT
start_server() { # impl family variant(plain|chacha20)
    local impl=$1 fam=$2 variant=$3 port log extra=() _
    port=$(free_port "$fam")
    log=$WORK/logs/server-$impl-$fam-$variant.log
    [ "$variant" = chacha20 ] && extra=(--chacha20)
    peer_cmd "$impl" server
    "${CMD[@]}" --listen "$(authority "$fam" "$port")" --cert "$WORK/certs/cert.pem" \
        --key "$WORK/certs/priv.key" --www "$WORK/www" "${extra[@]}" >"$log" 2>&1 &
    SERVER_PIDS+=("$!")
    for _ in $(seq 100); do # up to 10 s for the "serving ... on ..." line
        grep -q 'serving' "$log" && break
        kill -0 "$!" 2>/dev/null || break
        sleep 0.1
    done
    if ! grep -q 'serving' "$log"; then
        echo "selftest: $impl server ($fam, $variant) did not start:" >&2
        tail -n 5 "$log" >&2
        exit 1
    fi
    PORT[$impl-$fam-$variant]=$port
}

# Reads file names on stdin; succeeds when <downloads> holds exactly those regular files and
# each is byte-identical to <www>/<name> (one process, as a cmp per file for 2,000 files is slow).
compare_downloads() { # www downloads
    "$PYTHON" -c 'import filecmp, os, sys
www, dl = sys.argv[1:]
want = set(sys.stdin.read().split())
have = {os.path.relpath(os.path.join(d, f), dl) for d, _, fs in os.walk(dl) for f in fs}
bad = sorted(want ^ have) + sorted(
    f for f in want & have if not filecmp.cmp(os.path.join(www, f), os.path.join(dl, f), shallow=False))
for f in bad[:5]:
    print("differs, missing or unexpected:", f)
sys.exit(1 if bad else 0)' "$1" "$2"
}

# --- one cell -----------------------------------------------------------------------------------
run_cell() { # client server family test -> prints "ok <secs>s" or "FAIL"; details in log
    local client=$1 server=$2 fam=$3 test=$4 variant=plain trust dir log files=() urls=() f
    [ "$test" = chacha20 ] && variant=chacha20
    dir=$WORK/run/$client-$server-$fam-$test
    log=$dir.log
    mkdir -p "$dir/downloads"
    mapfile -t files < <(files_for "$test")
    for f in "${files[@]}"; do
        urls+=("https://$(authority "$fam" "${PORT[$server-$fam-$variant]}")/$f")
    done
    trust=(--ca "$WORK/certs/ca.pem")
    [ "$test" = chacha20 ] && trust=(--insecure --chacha20)
    peer_cmd "$client" client
    local start end rc=0
    start=$(date +%s%N)
    SSLKEYLOGFILE=$dir/keys.log timeout -k 5 $((CLIENT_TIMEOUT + 10)) \
        "${CMD[@]}" "${trust[@]}" --timeout "$CLIENT_TIMEOUT" --downloads "$dir/downloads" \
        "${urls[@]}" >"$log" 2>&1 || rc=$?
    end=$(date +%s%N)
    if [ "$rc" -ne 0 ]; then
        echo "client exited $rc" >>"$log"
        echo FAIL
        return
    fi
    if ! printf '%s\n' "${files[@]}" | compare_downloads "$WORK/www" "$dir/downloads" >>"$log"; then
        echo FAIL
        return
    fi
    if ! grep -q '^SERVER_HANDSHAKE_TRAFFIC_SECRET ' "$dir/keys.log" 2>/dev/null; then
        echo "no TLS key log written to SSLKEYLOGFILE" >>"$log"
        echo FAIL
        return
    fi
    rm -rf "$dir/downloads"
    local ds=$(((end - start) / 100000000))
    echo "ok $((ds / 10)).$((ds % 10))s"
}

mkdir -p "$WORK/logs" "$WORK/run"
make_certs >"$WORK/logs/certs.log" 2>&1 || { cat "$WORK/logs/certs.log" >&2; exit 1; }
make_files
for impl in "${IMPLS[@]}"; do
    for fam in "${FAMILIES[@]}"; do
        start_server "$impl" "$fam" plain
        start_server "$impl" "$fam" chacha20
    done
done

failed=0
header=$(printf '%-9s %-9s %-4s' client server ip; printf ' | %-13s' "${TESTS[@]}")
echo "$header"
printf '%s\n' "${header//?/-}"
for client in "${IMPLS[@]}"; do
    for server in "${IMPLS[@]}"; do
        for fam in "${FAMILIES[@]}"; do
            printf '%-9s %-9s %-4s' "$client" "$server" "$fam"
            for test in "${TESTS[@]}"; do
                cell=$(run_cell "$client" "$server" "$fam" "$test")
                [ "$cell" = FAIL ] && failed=1
                printf ' | %-13s' "$cell"
            done
            echo
        done
    done
done

for pid in "${SERVER_PIDS[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "selftest: a server died during the run (logs in $WORK/logs)" >&2
        failed=1
    fi
done
if [ "$failed" -ne 0 ]; then
    echo "selftest: FAILED; client logs:" >&2
    grep -l -e 'client exited' -e 'differs, missing' -e 'no TLS key log' "$WORK"/run/*.log |
        while read -r f; do echo "== $f" >&2; tail -n 5 "$f" >&2; done || true
    KEEP=1
    exit 1
fi
echo "selftest: all cells passed"
