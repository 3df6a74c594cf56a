#!/usr/bin/env bash
# The HTTP/3 interop matrix on loopback: our clients (quic-interop --http3, h3curl) against
# every HTTP/3 server (ours, aioquic, quinn + hyperium/h3, ngtcp2's gtlsserver), and every
# third-party client (aioquic, quinn + hyperium/h3, ngtcp2's gtlsclient, curl's libcurl via
# curl-cffi) against our server, for
#   handshake     one 1 KiB file
#   transfer      a 1 MiB and a 10 MiB file (random bytes)
#   multiplexing  200 small files on one connection, requested in parallel
#   upload        a 10 MiB random body POSTed; servers we control (ours, aioquic, quinn) answer
#                 "<length> <sha256>\n" of what they received, which must match the file's
#   dyntable      20 requests on one connection, each with the same 10 long x-echo-* fields,
#                 which our/aioquic/quinn servers repeat in every response; our side's QPACK
#                 counters (quic-interop's "qpack:" log line, h3curl -v) must show dynamic-table
#                 insertions in each direction the peer allows (see LEGEND below)
# A cell passes when the client exits 0 and its downloads dir holds exactly the requested
# files, each byte-identical to the served one (upload: to the expected hash line). Clients verify the server against a test CA
# (cert.pem = CA-signed EC P-256 leaf with SAN server/localhost/127.0.0.1/::1, priv.key = SEC1
# with an EC PARAMETERS block, like the runner's), except gtlsclient, which does not verify.
# Cells outside the pairs above print "-". Every wait is bounded (CLIENT_TIMEOUT per cell).
#
# Needs: interop/install-peers.sh done (aioquic + curl-cffi importable, ngtcp2 installed,
# quinn-h3 built), `cargo build --release -p interop -p h3`, openssl, timeout, split.
# Environment: PYTHON (default python3), CARGO_TARGET_DIR, KEEP=1 keeps the work dir,
#              CLIENT_TIMEOUT (seconds per cell, default 120), FAMILIES (default "v4 v6"),
#              CLIENTS / SERVERS to restrict the rows / columns.
# Exit 0 when every cell passes.
set -euo pipefail

PEERS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$PEERS/../.." && pwd)
PYTHON=${PYTHON:-python3}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}/release
OURS=$TARGET/quic-interop
H3CURL=$TARGET/h3curl
QUINN=$TARGET/quinn-h3
AIOQUIC=$PEERS/aioquic_h3.py
CURL=$PEERS/curl_h3.py
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-120}
SERVERS=(${SERVERS:-ours aioquic quinn ngtcp2})
CLIENTS=(${CLIENTS:-ours h3curl aioquic quinn ngtcp2 curl})
FAMILIES=(${FAMILIES:-v4 v6})
TESTS=(handshake transfer multiplexing upload dyntable)
# What each peer does with the QPACK dynamic table (RFC 9204), as our side's counters see it:
# CAP = the peer's decoder allows a table (our encoder must insert, else must not);
# ENC = the peer's encoder inserts (our decoder must receive insertions, else none).
declare -A CAP=([ours]=1 [h3curl]=1 [aioquic]=1 [quinn]=0 [ngtcp2]=1 [curl]=0)
# (-: not checked: libcurl's nghttp3 encoder inserts 0 or 1 entries, by timing.)
declare -A ENC_CLIENT=([ours]=1 [h3curl]=1 [aioquic]=1 [quinn]=0 [ngtcp2]=0 [curl]=-)
declare -A ENC_SERVER=([ours]=1 [aioquic]=1 [quinn]=0 [ngtcp2]=1)
LEGEND="legend:
  upload   ours/aioquic/quinn servers answer the received body's length + SHA-256, compared
           with the uploaded file's. ngtcp2's gtlsserver (an example server we do not control)
           discards request bodies and serves the file at the path: that cell proves only
           that the client sent all 10 MiB without being stopped or reset and got 200 + the
           file (h3curl's 'upload completely sent off'), not that the bytes arrived intact.
  dyntable qNN/MM = our side's QPACK dynamic-table insertions sent/received on the
           connection (the server's when it is ours). Required: sent > 0 iff the peer's
           decoder allows a table, received > 0 iff the peer's encoder uses one:
           ours, h3curl, aioquic: both ways. quinn (hyperium/h3): table capacity 0 and
           static-only encoding, so the cell checks that our encoder stays static. curl
           (libcurl's nghttp3 setup) allows no table either (checked); whether its encoder
           inserts (0 or 1 entries, by timing) is not checked. gtlsclient cannot send
           custom fields (no -H option): its encoder inserts nothing, our encoder must.
           gtlsserver does not echo fields but its encoder inserts its own response fields.
  n/a      none: every pair runs every test"

for tool in openssl timeout split; do
    command -v "$tool" >/dev/null || { echo "h3-matrix: $tool not found" >&2; exit 1; }
done
need() { # name path-or-command hint
    if ! command -v "$2" >/dev/null 2>&1 && [ ! -x "$2" ]; then
        echo "h3-matrix: $1 missing ($2); $3" >&2
        exit 1
    fi
}
need quic-interop "$OURS" "cargo build --release -p interop"
need h3curl "$H3CURL" "cargo build --release -p h3"
need quinn-h3 "$QUINN" "run interop/install-peers.sh"
need gtlsserver gtlsserver "run interop/install-peers.sh"
need gtlsclient gtlsclient "run interop/install-peers.sh"
"$PYTHON" -c 'import aioquic, curl_cffi' 2>/dev/null ||
    { echo "h3-matrix: aioquic or curl_cffi not importable by $PYTHON; run interop/install-peers.sh" >&2; exit 1; }

WORK=$(mktemp -d /tmp/h3-matrix.XXXXXX)
SERVER_PIDS=()
cleanup() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then
        echo "h3-matrix: work dir kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

make_certs() {
    local d=$WORK/certs
    mkdir -p "$d"
    openssl ecparam -name prime256v1 -genkey -out "$d/ca.key"
    openssl req -x509 -new -key "$d/ca.key" -sha256 -days 10 -subj "/O=h3 matrix CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
        -out "$d/ca.pem"
    openssl ecparam -name prime256v1 -genkey -out "$d/priv.key"
    openssl req -new -key "$d/priv.key" -subj "/O=h3 matrix leaf" -out "$d/leaf.csr"
    printf 'subjectAltName=DNS:server,DNS:localhost,IP:127.0.0.1,IP:::1\n' >"$d/leaf.ext"
    openssl x509 -req -in "$d/leaf.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
        -days 10 -sha256 -extfile "$d/leaf.ext" -out "$d/cert.pem"
}

make_files() {
    local www=$WORK/www
    mkdir -p "$www"
    head -c 1024 /dev/urandom >"$www/file-1k"
    head -c 1048576 /dev/urandom >"$www/file-1m"
    head -c 10485760 /dev/urandom >"$www/file-10m"
    head -c $((200 * 64)) /dev/urandom | (cd "$www" && split -b 64 -a 3 -d - mux-)
    [ "$(find "$www" -name 'mux-*' | wc -l)" -eq 200 ]
    # The upload body (outside www) and the answer a hashing server must give for it.
    mkdir -p "$WORK/expect"
    head -c 10485760 /dev/urandom >"$WORK/upload-10m"
    printf '%s %s\n' "$(stat -c %s "$WORK/upload-10m")" \
        "$(sha256sum "$WORK/upload-10m" | cut -d' ' -f1)" >"$WORK/expect/upload-10m"
}

files_for() {
    case $1 in
        handshake) echo file-1k ;;
        transfer) printf '%s\n' file-1m file-10m ;;
        multiplexing) (cd "$WORK/www" && printf '%s\n' mux-*) ;;
        upload) if [ "$2" = ngtcp2 ]; then echo file-1m; else echo upload-10m; fi ;;
        dyntable) (cd "$WORK/www" && printf '%s\n' mux-0[01]?) ;;
    esac
}

# The 10 repeated request fields of the dyntable test, one "name: value" per line.
echo_fields() {
    local i
    for i in 0 1 2 3 4 5 6 7 8 9; do
        printf 'x-echo-field-%s: value-%s-%s\n' "$i" "$i" "$(printf 'abcdefghij%.0s' 1 2 3 4 5 6)"
    done
}

free_port() { # family
    local host=127.0.0.1
    [ "$1" = v6 ] && host=::1
    "$PYTHON" -c 'import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$host"
}

ip_of() { if [ "$1" = v6 ]; then echo ::1; else echo 127.0.0.1; fi; }
authority() { if [ "$1" = v6 ]; then echo "[::1]:$2"; else echo "127.0.0.1:$2"; fi; }

# Which cells run: ours/h3curl against every server, everyone against ours.
wanted() { # client server
    [ "$2" = ours ] || [ "$1" = ours ] || [ "$1" = h3curl ]
}

declare -A PORT
start_server() { # impl family
    local impl=$1 fam=$2 port log c=$WORK/certs _ ready
    port=$(free_port "$fam")
    log=$WORK/logs/server-$impl-$fam.log
    case $impl in
        ours) "$OURS" server --http3 --listen "$(authority "$fam" "$port")" --cert "$c/cert.pem" \
            --key "$c/priv.key" --www "$WORK/www" >"$log" 2>&1 & ;;
        quinn) "$QUINN" server --listen "$(authority "$fam" "$port")" --cert "$c/cert.pem" \
            --key "$c/priv.key" --www "$WORK/www" >"$log" 2>&1 & ;;
        aioquic) "$PYTHON" -B "$AIOQUIC" server --listen "$(authority "$fam" "$port")" \
            --cert "$c/cert.pem" --key "$c/priv.key" --www "$WORK/www" >"$log" 2>&1 & ;;
        ngtcp2) gtlsserver -q -d "$WORK/www" "$(ip_of "$fam")" "$port" "$c/priv.key" \
            "$c/cert.pem" >"$log" 2>&1 & ;;
    esac
    SERVER_PIDS+=("$!")
    ready=0
    for _ in $(seq 100); do # up to 10 s
        kill -0 "$!" 2>/dev/null || break
        if [ "$impl" = ngtcp2 ]; then
            # gtlsserver prints nothing when quiet: wait for its UDP socket.
            if ss -uanp 2>/dev/null | grep -q ":$port .*pid=$!,"; then ready=1; break; fi
        elif grep -qs 'serving' "$log"; then
            ready=1
            break
        fi
        sleep 0.1
    done
    if [ "$ready" -ne 1 ]; then
        if [ "$impl" = ngtcp2 ] && kill -0 "$!" 2>/dev/null; then
            ready=1 # no ss(8): alive after 10 s is good enough
        else
            echo "h3-matrix: $impl server ($fam) did not start:" >&2
            tail -n 5 "$log" >&2
            exit 1
        fi
    fi
    PORT[$impl-$fam]=$port
}

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

run_client() { # client dir urls... (runs in the cell's dir; bounded by timeout; MODE is
    # plain, upload (POST $WORK/upload-10m) or dyntable (the echo_fields on every request))
    local client=$1 dl=$2/downloads ca=$WORK/certs/ca.pem t=$CLIENT_TIMEOUT u args=() line
    local up=$WORK/upload-10m extra=() h3extra=() fields=""
    shift 2
    case $MODE in
        upload) extra=(--upload "$up"); h3extra=(-v --data-binary "@$up") ;;
        dyntable)
            fields=$(echo_fields)
            while IFS= read -r line; do
                extra+=(--header "$line")
                h3extra+=(-H "$line")
            done <<<"$fields"
            h3extra+=(-v) ;;
    esac
    case $client in
        ours)
            if [ "$MODE" = upload ]; then export QUIC_INTEROP_UPLOAD=$up; fi
            if [ -n "$fields" ]; then export QUIC_INTEROP_HEADERS=$fields; fi
            "$OURS" client --http3 --ca "$ca" --timeout "$t" --downloads "$dl" "$@" ;;
        quinn) "$QUINN" client --ca "$ca" --timeout "$t" --downloads "$dl" "${extra[@]}" "$@" ;;
        aioquic) "$PYTHON" -B "$AIOQUIC" client --ca "$ca" --timeout "$t" --downloads "$dl" \
            "${extra[@]}" "$@" ;;
        curl) "$PYTHON" -B "$CURL" --ca "$ca" --timeout "$t" --downloads "$dl" "${extra[@]}" "$@" ;;
        h3curl)
            for u in "$@"; do args+=(-o "$dl/${u##*/}" "$u"); done
            "$H3CURL" -sS -f --cacert "$ca" --max-time "$t" "${h3extra[@]}" "${args[@]}" ;;
        ngtcp2)
            # gtlsclient takes HOST PORT URI...; it prints nothing useful on failure, so the
            # byte comparison decides.
            local hostport=${1#https://}
            hostport=${hostport%%/*}
            local host=${hostport%:*} port=${hostport##*:}
            host=${host#[}
            host=${host%]}
            [ "$MODE" = upload ] && extra=(-m POST -d "$up") || extra=()
            gtlsclient -q --exit-on-all-streams-close --timeout=30s --download "$dl" \
                "${extra[@]}" "$host" "$port" "$@" ;;
    esac
}

# Checks one side's QPACK counters against what the peer allows / does (CAP, ENC_*).
# Prints "<sent>/<received>" or fails with a line in the cell log.
qpack_check() { # log-line peer-cap peer-enc cell-log
    local sent received
    sent=$(sed -n 's/.*encoder_inserts=\([0-9]*\).*/\1/p' <<<"$1")
    received=$(sed -n 's/.*decoder_inserts=\([0-9]*\).*/\1/p' <<<"$1")
    if [ -z "$sent" ] || [ -z "$received" ]; then
        echo "no QPACK counters found" >>"$4"
        return 1
    fi
    if { [ "$2" = 1 ] && [ "$sent" -eq 0 ]; } || { [ "$2" = 0 ] && [ "$sent" -ne 0 ]; } ||
        { [ "$3" = 1 ] && [ "$received" -eq 0 ]; } || { [ "$3" = 0 ] && [ "$received" -ne 0 ]; }; then
        # ($3 = "-": the peer's encoder is not checked.)
        echo "QPACK counters $1 do not match: peer table allowed=$2, peer encoder inserts=$3" >>"$4"
        return 1
    fi
    echo "$sent/$received"
}

run_cell() { # client server family test -> "ok <secs>s" | "FAIL"
    local client=$1 server=$2 fam=$3 test=$4 dir log files=() urls=() f mode=plain ref=$WORK/www
    dir=$WORK/run/$client-$server-$fam-$test
    log=$dir.log
    mkdir -p "$dir/downloads"
    mapfile -t files < <(files_for "$test" "$server")
    for f in "${files[@]}"; do
        urls+=("https://$(authority "$fam" "${PORT[$server-$fam]}")/$f")
    done
    case $test in
        upload) mode=upload; [ "$server" = ngtcp2 ] || ref=$WORK/expect ;;
        dyntable) mode=dyntable ;;
    esac
    local slog=$WORK/logs/server-$server-$fam.log seen=0
    [ "$server" = ours ] && seen=$(grep -c '^qpack: server' "$slog" || true)
    local start end rc=0
    start=$(date +%s%N)
    (cd "$dir" && timeout -k 5 $((CLIENT_TIMEOUT + 10)) bash -c "$(declare -f run_client echo_fields); \
        OURS='$OURS' QUINN='$QUINN' H3CURL='$H3CURL' PYTHON='$PYTHON' AIOQUIC='$AIOQUIC' \
        CURL='$CURL' WORK='$WORK' CLIENT_TIMEOUT='$CLIENT_TIMEOUT' MODE='$mode'; run_client \"\$@\"" \
        _ "$client" "$dir" "${urls[@]}") >"$log" 2>&1 || rc=$?
    end=$(date +%s%N)
    if [ "$rc" -ne 0 ]; then
        echo "client exited $rc" >>"$log"
        echo FAIL
        return
    fi
    if ! printf '%s\n' "${files[@]}" | compare_downloads "$ref" "$dir/downloads" >>"$log"; then
        echo FAIL
        return
    fi
    if [ "$test" = upload ] && [ "$server" = ngtcp2 ] && [ "$client" = h3curl ] &&
        ! grep -q '^\* upload completely sent off: 10485760 bytes' "$log"; then
        echo "h3curl did not send the whole body" >>"$log"
        echo FAIL
        return
    fi
    local q="" line
    if [ "$test" = dyntable ]; then
        if [ "$server" = ours ]; then
            # Our server logs the connection's counters once it has closed.
            line=""
            for _ in $(seq 50); do
                line=$(grep '^qpack: server' "$slog" | sed -n "$((seen + 1))p")
                [ -n "$line" ] && break
                sleep 0.1
            done
            q=$(qpack_check "$line" "${CAP[$client]}" "${ENC_CLIENT[$client]}" "$log") ||
                { echo FAIL; return; }
        fi
        if [ "$client" = ours ] || [ "$client" = h3curl ]; then
            line=$(grep -a -e '^qpack: client' -e '^\* QPACK dynamic table' "$log" | tail -n 1)
            f=$(qpack_check "$line" "${CAP[$server]}" "${ENC_SERVER[$server]}" "$log") ||
                { echo FAIL; return; }
            [ -n "$q" ] || q=$f
        fi
        q=" q$q"
    fi
    rm -rf "$dir/downloads"
    local ds=$(((end - start) / 100000000))
    echo "ok $((ds / 10)).$((ds % 10))s$q"
}

mkdir -p "$WORK/logs" "$WORK/run"
make_certs >"$WORK/logs/certs.log" 2>&1 || { cat "$WORK/logs/certs.log" >&2; exit 1; }
make_files
for impl in "${SERVERS[@]}"; do
    for fam in "${FAMILIES[@]}"; do
        start_server "$impl" "$fam"
    done
done

failed=0
header=$(printf '%-8s %-8s %-4s' client server ip; printf ' | %-15s' "${TESTS[@]}")
echo "$header"
printf '%s\n' "${header//?/-}"
for client in "${CLIENTS[@]}"; do
    for server in "${SERVERS[@]}"; do
        wanted "$client" "$server" || continue
        for fam in "${FAMILIES[@]}"; do
            printf '%-8s %-8s %-4s' "$client" "$server" "$fam"
            for test in "${TESTS[@]}"; do
                cell=$(run_cell "$client" "$server" "$fam" "$test")
                [ "$cell" = FAIL ] && failed=1
                printf ' | %-15s' "$cell"
            done
            echo
        done
    done
done

echo "$LEGEND"

for pid in "${SERVER_PIDS[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "h3-matrix: a server died during the run (logs in $WORK/logs)" >&2
        failed=1
    fi
done
if [ "$failed" -ne 0 ]; then
    echo "h3-matrix: FAILED; client logs:" >&2
    grep -l -e 'client exited' -e 'differs, missing' -e 'QPACK counters' -e 'no QPACK' \
        -e 'did not send' "$WORK"/run/*.log |
        while read -r f; do echo "== $f" >&2; tail -n 5 "$f" >&2; done || true
    KEEP=1
    exit 1
fi
echo "h3-matrix: all cells passed"
