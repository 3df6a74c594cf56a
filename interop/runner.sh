#!/usr/bin/env bash
# A docker-free interop runner: runs the QUIC interop runner's test cases (RUNNER.md §2) for
# every client/server pair among ours, aioquic and quinn, with the network scenarios reproduced
# by our impairment proxy (target/release/impair) between them, and prints a matrix in the shape
# of the public interop site.
#
# What is checked, as far as it can be without decrypting captures: the client exits 0; the
# downloads are byte-exact; the number of handshakes (distinct server SCIDs in server Initial
# packets, counted by the proxy) is 1, or one per file for the multiconnect cases; and the
# versions seen are only QUIC v1. Test cases that need something our endpoint does not do yet
# are reported as "unsupported" (u), as the public runner does.
#
# Usage: interop/runner.sh [-c CLIENTS] [-s SERVERS] [-t TESTS] [-g]
#   CLIENTS/SERVERS: comma lists of ours,aioquic,quinn (default all three)
#   TESTS: comma list (default: every supported case); -g adds the goodput measurement
# Needs: interop/install-peers.sh done; cargo build --release -p interop (quic-interop, impair).
# Environment: PYTHON, KEEP=1 keeps the work dir, GOODPUT_RUNS (default 3).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
PYTHON=${PYTHON:-python3}
CLIENTS=ours,aioquic,quinn
SERVERS=ours,aioquic,quinn
ALL_TESTS=handshake,transfer,longrtt,chacha20,multiplexing,blackhole,handshakeloss,transferloss,handshakecorruption,transfercorruption,ipv6
TESTS=$ALL_TESTS
GOODPUT=0
while getopts "c:s:t:g" opt; do
    case $opt in
        c) CLIENTS=$OPTARG ;;
        s) SERVERS=$OPTARG ;;
        t) TESTS=$OPTARG ;;
        g) GOODPUT=1 ;;
        *) echo "usage: $0 [-c clients] [-s servers] [-t tests] [-g]" >&2; exit 2 ;;
    esac
done
IFS=, read -r -a CLIENTS <<<"$CLIENTS"
IFS=, read -r -a SERVERS <<<"$SERVERS"
IFS=, read -r -a TESTS <<<"$TESTS"

for b in quic-interop impair quinn-hq; do
    [ -x "$BIN/$b" ] || { echo "runner: $BIN/$b missing (cargo build --release -p interop -p quinn-hq)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/quic-runner.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then echo "runner: work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
mkdir -p "$WORK/certs" "$WORK/www" "$WORK/logs"

# Runner-style certificates: EC P-256 CA and leaf, the key SEC1 with an EC PARAMETERS block.
(
    cd "$WORK/certs"
    openssl ecparam -name prime256v1 -genkey -out ca.key
    openssl req -x509 -new -key ca.key -sha256 -days 10 -subj "/O=runner CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" -out ca.pem
    openssl ecparam -name prime256v1 -genkey -out priv.key
    openssl req -new -key priv.key -subj "/O=runner leaf" -out leaf.csr
    printf 'subjectAltName=DNS:server,DNS:localhost,IP:127.0.0.1,IP:::1\n' >leaf.ext
    openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 10 -sha256 \
        -extfile leaf.ext -out cert.pem
) >"$WORK/logs/certs.log" 2>&1

# The runner's files per test (RUNNER.md §2.1).
mkfile() { [ -f "$WORK/www/$1" ] || head -c "$2" /dev/urandom >"$WORK/www/$1"; }
files_for() {
    case $1 in
        handshake | longrtt) mkfile h-1k 1024; echo h-1k ;;
        transfer) mkfile t-2m 2097152; mkfile t-3m 3145728; mkfile t-5m 5242880; echo t-2m t-3m t-5m ;;
        chacha20) mkfile c-3m 3145728; echo c-3m ;;
        multiplexing)
            for i in $(seq -w 1 1999); do mkfile "m-$i" 32; done
            (cd "$WORK/www" && echo m-*) ;;
        blackhole) mkfile b-10m 10485760; echo b-10m ;;
        handshakeloss | handshakecorruption)
            for i in $(seq -w 1 50); do mkfile "l-$i" 1024; done
            (cd "$WORK/www" && echo l-*) ;;
        transferloss | transfercorruption) mkfile tl-2m 2097152; echo tl-2m ;;
        ipv6) mkfile v6-5k 5120; mkfile v6-10k 10240; echo v6-5k v6-10k ;;
        goodput) mkfile g-10m 10485760; echo g-10m ;;
    esac
}
scenario_for() {
    case $1 in
        longrtt | blackhole | handshakeloss | transferloss | handshakecorruption | transfercorruption) echo "$1" ;;
        *) echo simple-p2p ;;
    esac
}
multiconnect() { [ "$1" = handshakeloss ] || [ "$1" = handshakecorruption ]; }
timeout_for() { case $1 in handshakeloss | handshakecorruption) echo 300 ;; *) echo 60 ;; esac; }

cmd_for() { # impl role
    case $1 in
        ours) CMD=("$BIN/quic-interop" "$2") ;;
        quinn) CMD=("$BIN/quinn-hq" "$2") ;;
        aioquic) CMD=("$PYTHON" -B "$HERE/peers/aioquic_hq.py" "$2") ;;
    esac
}

free_port() {
    "$PYTHON" -c 'import socket,sys
s=socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$1"
}

start_server() { # impl host chacha -> sets SERVER_PORT
    local impl=$1 host=$2 extra=() log
    [ "$3" = 1 ] && extra=(--chacha20)
    SERVER_PORT=$(free_port "$host")
    log=$WORK/logs/server-$impl-$host-$3-$SERVER_PORT.log
    cmd_for "$impl" server
    local listen=$host:$SERVER_PORT
    [[ $host == *:* ]] && listen="[$host]:$SERVER_PORT"
    "${CMD[@]}" --listen "$listen" --cert "$WORK/certs/cert.pem" --key "$WORK/certs/priv.key" \
        --www "$WORK/www" "${extra[@]}" >"$log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    for _ in $(seq 100); do grep -q serving "$log" && return 0; sleep 0.1; done
    echo "runner: $impl server did not start ($log)" >&2
    return 1
}

# Runs one cell; prints "ok <time>", "FAIL <why>" or "unsupported". Sets LAST_SECONDS.
run_cell() { # client server test
    local client=$1 server=$2 test=$3 host=127.0.0.1 chacha=0 dir files proxy_port summary
    [ "$test" = ipv6 ] && host=::1
    [ "$test" = chacha20 ] && chacha=1
    dir=$WORK/run/$client-$server-$test
    mkdir -p "$dir/downloads"
    read -r -a files <<<"$(files_for "$test")"
    start_server "$server" "$host" "$chacha" || { echo "FAIL server"; return; }
    proxy_port=$(free_port "$host")
    summary=$dir/proxy.json
    local listen=$host:$proxy_port upstream=$host:$SERVER_PORT
    if [[ $host == *:* ]]; then listen="[$host]:$proxy_port"; upstream="[$host]:$SERVER_PORT"; fi
    "$BIN/impair" --listen "$listen" --server "$upstream" --scenario "$(scenario_for "$test")" \
        --seed 1 --summary-file "$summary" --quiet >"$dir/proxy.log" 2>&1 &
    local proxy_pid=$!
    PIDS+=("$proxy_pid")
    sleep 0.3
    local authority=$listen trust=(--ca "$WORK/certs/ca.pem") extra=() rc=0 start end
    [ "$chacha" = 1 ] && extra=(--chacha20)
    cmd_for "$client" client
    local limit
    limit=$(timeout_for "$test")
    start=$(date +%s%N)
    if multiconnect "$test"; then
        for f in "${files[@]}"; do
            timeout -k 5 "$limit" "${CMD[@]}" "${trust[@]}" "${extra[@]}" --timeout "$limit" \
                --downloads "$dir/downloads" "https://$authority/$f" >>"$dir/client.log" 2>&1 || { rc=$?; break; }
        done
    else
        local urls=()
        for f in "${files[@]}"; do urls+=("https://$authority/$f"); done
        timeout -k 5 "$limit" "${CMD[@]}" "${trust[@]}" "${extra[@]}" --timeout "$limit" \
            --downloads "$dir/downloads" "${urls[@]}" >"$dir/client.log" 2>&1 || rc=$?
    fi
    end=$(date +%s%N)
    LAST_SECONDS=$(( (end - start) / 1000000 ))
    kill "$proxy_pid" 2>/dev/null || true
    wait "$proxy_pid" 2>/dev/null || true
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    if [ "$rc" -ne 0 ]; then echo "FAIL client exit $rc"; return; fi
    for f in "${files[@]}"; do
        cmp -s "$WORK/www/$f" "$dir/downloads/$f" || { echo "FAIL $f differs"; return; }
    done
    local want=1 got versions
    multiconnect "$test" && want=${#files[@]}
    got=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["handshakes"])' "$summary" 2>/dev/null || echo "?")
    if [ "$got" != "$want" ]; then echo "FAIL handshakes $got/$want"; return; fi
    # VER (RUNNER.md §2.2): only QUIC v1 in this set of tests.
    versions=$(grep -o '"versions":[^]]*]' "$summary" | grep -o '0x[0-9a-f]*' | sort -u | tr '\n' ' ')
    if [ "$versions" != "0x00000001 " ]; then echo "FAIL versions $versions"; return; fi
    rm -rf "$dir/downloads"
    echo "ok $((LAST_SECONDS / 1000)).$(( (LAST_SECONDS % 1000) / 100 ))s"
}

failed=0
printf '%-8s %-8s' client server
for t in "${TESTS[@]}"; do printf ' | %-20s' "$t"; done
echo
for c in "${CLIENTS[@]}"; do
    for s in "${SERVERS[@]}"; do
        printf '%-8s %-8s' "$c" "$s"
        for t in "${TESTS[@]}"; do
            r=$(run_cell "$c" "$s" "$t")
            [[ $r == ok* ]] || failed=1
            printf ' | %-20s' "${r:0:20}"
        done
        echo
    done
done

if [ "$GOODPUT" = 1 ]; then
    echo
    echo "goodput: 10 MiB over simple-p2p (10 Mbit/s, 15 ms one-way, 25-packet queue), runs: ${GOODPUT_RUNS:-3}"
    for c in "${CLIENTS[@]}"; do
        for s in "${SERVERS[@]}"; do
            rates=()
            for _ in $(seq "${GOODPUT_RUNS:-3}"); do
                r=$(run_cell "$c" "$s" goodput)
                # goodput = file bits / client time (the runner divides by the transfer time).
                [[ $r == ok* ]] && rates+=("$(awk -v ms="${r#ok }" 'BEGIN{ split(ms,a,"s"); printf "%.2f", 10485760*8/(a[1]*1e6) }')")
            done
            printf '%-8s %-8s goodput Mbit/s: %s\n' "$c" "$s" "${rates[*]:-none}"
        done
    done
fi
exit $failed
