#!/usr/bin/env bash
# A docker-free interop runner: runs the QUIC interop runner's test cases (RUNNER.md §2) for
# every client/server pair among ours, aioquic and quinn, with the network scenarios reproduced
# by our impairment proxy (target/release/impair) between them, and prints a matrix in the shape
# of the public interop site.
#
# What is checked, as far as it can be without decrypting captures: the client exits 0; the
# downloads are byte-exact; the number of handshakes (distinct server SCIDs in server Initial
# packets, counted by the proxy before it impairs them, as the runner counts on the server-side
# capture) is 1, or one per file for the multiconnect cases (handshakeloss,
# handshakecorruption: one connection per file, one after the other); the versions seen are
# only QUIC v1; amplificationlimit (a 9-certificate chain, client datagrams #2-#7 dropped): the
# server sent at most 3x the bytes of the client's Initial datagrams before the client's first
# Handshake packet reached it (the proxy's walk; the runner also needs the keys to see the
# certificate's size, which is not checked here); ipv6 runs over [::1] only; ecn: the proxy
# passes the IP ECN field through, and the datagrams each side sent must include ECT(0) or
# ECT(1) and no CE (that both sent ACK_ECN frames is encrypted, not checked here). Files,
# scenarios and timeouts are RUNNER.md's. A case a peer does not implement is "unsupported"
# (aioquic has no ECN).
#
# Usage: interop/runner.sh [-c CLIENTS] [-s SERVERS] [-t TESTS] [-g] [-G PAIRS]
#   CLIENTS/SERVERS: comma lists of ours,aioquic,quinn (default all three)
#   TESTS: comma list (default: every case; "-t none" runs no test, for -g alone)
#   -g: goodput (RUNNER.md §3): a 10 MiB file over simple-p2p (10 Mbit/s, 15 ms one-way,
#       25-packet queue) and over the same link with 1% loss each way; the time is the span
#       of the server's 1-RTT packets delivered to the client (as the runner measures it on
#       its client-side capture); prints the mean and sample deviation in Mbit/s per pair
#   -G: the goodput pairs, comma list of CLIENT:SERVER (default every CLIENTS x SERVERS)
# Needs: interop/install-peers.sh done; cargo build --release -p interop (quic-interop, impair).
# Environment: PYTHON, KEEP=1 keeps the work dir, GOODPUT_RUNS (default 5, as the runner;
# run i uses proxy seed SEED+i-1), SEED (the proxy's seed, default 1),
# RUNNER_BIN (directory of the binaries; default target/release).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BIN=${RUNNER_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release}
PYTHON=${PYTHON:-python3}
CLIENTS=ours,aioquic,quinn
SERVERS=ours,aioquic,quinn
ALL_TESTS=handshake,transfer,longrtt,chacha20,multiplexing,blackhole,ecn,amplificationlimit,handshakeloss,transferloss,handshakecorruption,transfercorruption,ipv6,rebind-port,rebind-addr
TESTS=$ALL_TESTS
GOODPUT=0
GOODPUT_PAIRS=
while getopts "c:s:t:gG:" opt; do
    case $opt in
        c) CLIENTS=$OPTARG ;;
        s) SERVERS=$OPTARG ;;
        t) TESTS=$OPTARG ;;
        g) GOODPUT=1 ;;
        G) GOODPUT=1; GOODPUT_PAIRS=$OPTARG ;;
        *) echo "usage: $0 [-c clients] [-s servers] [-t tests] [-g] [-G client:server,...]" >&2; exit 2 ;;
    esac
done
IFS=, read -r -a CLIENTS <<<"$CLIENTS"
IFS=, read -r -a SERVERS <<<"$SERVERS"
[ "$TESTS" = none ] && TESTS=
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
mkdir -p "$WORK/certs" "$WORK/certs9" "$WORK/www" "$WORK/logs"

# Runner-style certificates (RUNNER.md §1.3): EC P-256, the key SEC1 with an EC PARAMETERS
# block, cert.pem the chain leaf first without the root. certs: chain length 1; certs9: chain
# length 9 for amplificationlimit (8 intermediates, and 20 extra 250-character DNS names in the
# leaf, so the server's first flight is far beyond 3x the client's Initial).
make_certs() { # dir chainlen
    local dir=$1 n=$2 i issuer issuer_key san
    cd "$dir"
    openssl ecparam -name prime256v1 -genkey -out ca.key
    openssl req -x509 -new -key ca.key -sha256 -days 10 -subj "/O=runner CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" -out ca.pem
    issuer=ca.pem issuer_key=ca.key
    : >chain.pem
    for i in $(seq 1 $((n - 1))); do
        openssl ecparam -name prime256v1 -genkey -out "int$i.key"
        openssl req -new -key "int$i.key" -subj "/O=runner intermediate $i" -out "int$i.csr"
        printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n' >"int$i.ext"
        openssl x509 -req -in "int$i.csr" -CA "$issuer" -CAkey "$issuer_key" -CAcreateserial \
            -days 10 -sha256 -extfile "int$i.ext" -out "int$i.pem"
        cat "int$i.pem" chain.pem >chain.tmp && mv chain.tmp chain.pem
        issuer=int$i.pem issuer_key=int$i.key
    done
    openssl ecparam -name prime256v1 -genkey -out priv.key
    openssl req -new -key priv.key -subj "/O=runner leaf" -out leaf.csr
    san="DNS:server,DNS:localhost,IP:127.0.0.1,IP:::1"
    if [ "$n" -gt 1 ]; then
        for i in $(seq 1 20); do
            # 250 characters in labels of at most 63 (RFC 1035).
            san="$san,DNS:$(head -c 600 /dev/urandom | tr -dc 'a-z' | head -c 246 | sed -E 's/(.{61})/\1./g')"
        done
    fi
    printf 'subjectAltName=%s\n' "$san" >leaf.ext
    openssl x509 -req -in leaf.csr -CA "$issuer" -CAkey "$issuer_key" -CAcreateserial -days 10 \
        -sha256 -extfile leaf.ext -out leaf.pem
    cat leaf.pem chain.pem >cert.pem
}
(make_certs "$WORK/certs" 1 && make_certs "$WORK/certs9" 9) >"$WORK/logs/certs.log" 2>&1

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
        ecn) mkfile e-100k 102400; echo e-100k ;;
        amplificationlimit) mkfile a-5k 5120; echo a-5k ;;
        goodput | goodput-loss) mkfile g-10m 10485760; echo g-10m ;;
        rebind-port | rebind-addr) mkfile r-10m 10485760; echo r-10m ;;
    esac
}
scenario_for() {
    case $1 in
        longrtt | blackhole | handshakeloss | transferloss | handshakecorruption | transfercorruption | rebind-port | rebind-addr) echo "--scenario $1" ;;
        amplificationlimit) echo "--scenario droplist" ;;
        # Not a runner scenario: the issue's second goodput condition, 1% loss each way.
        goodput-loss) echo "--scenario simple-p2p --drop-rate-to-server 1% --drop-rate-to-client 1%" ;;
        *) echo "--scenario simple-p2p" ;;
    esac
}
# Cases a client or server does not implement (RUNNER.md §1.11: aioquic lists no ecn).
unsupported() { [ "$1" = ecn ] && { [ "$2" = aioquic ] || [ "$3" = aioquic ]; }; }
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

start_server() { # impl host chacha certs -> sets SERVER_PORT
    local impl=$1 host=$2 certs=$4 extra=() log
    [ "$3" = 1 ] && extra=(--chacha20)
    SERVER_PORT=$(free_port "$host")
    log=$WORK/logs/server-$impl-$host-$3-$SERVER_PORT.log
    cmd_for "$impl" server
    local listen=$host:$SERVER_PORT
    [[ $host == *:* ]] && listen="[$host]:$SERVER_PORT"
    "${CMD[@]}" --listen "$listen" --cert "$certs/cert.pem" --key "$certs/priv.key" \
        --www "$WORK/www" "${extra[@]}" >"$log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    for _ in $(seq 100); do grep -qs serving "$log" && return 0; sleep 0.1; done
    echo "runner: $impl server did not start ($log)" >&2
    return 1
}

# Runs one cell; prints "ok <time>", "FAIL <why>" or "unsupported". Sets LAST_SECONDS.
run_cell() { # client server test
    local client=$1 server=$2 test=$3 host=127.0.0.1 chacha=0 dir files proxy_port summary certs
    if unsupported "$test" "$client" "$server"; then echo "unsupported"; return; fi
    [ "$test" = ipv6 ] && host=::1
    [ "$test" = chacha20 ] && chacha=1
    certs=$WORK/certs
    [ "$test" = amplificationlimit ] && certs=$WORK/certs9
    dir=$WORK/run/$client-$server-$test
    rm -rf "$dir"
    mkdir -p "$dir/downloads"
    read -r -a files <<<"$(files_for "$test")"
    start_server "$server" "$host" "$chacha" "$certs" || { echo "FAIL server"; return; }
    proxy_port=$(free_port "$host")
    summary=$dir/proxy.json
    local listen=$host:$proxy_port upstream=$host:$SERVER_PORT
    if [[ $host == *:* ]]; then listen="[$host]:$proxy_port"; upstream="[$host]:$SERVER_PORT"; fi
    local scenario
    read -r -a scenario <<<"$(scenario_for "$test")"
    "$BIN/impair" --listen "$listen" --server "$upstream" "${scenario[@]}" \
        --seed "${SEED:-1}" --summary-file "$summary" --quiet >"$dir/proxy.log" 2>&1 &
    local proxy_pid=$!
    PIDS+=("$proxy_pid")
    sleep 0.3
    local authority=$listen trust=(--ca "$certs/ca.pem") extra=() rc=0 start end
    # webpki accepts at most 6 intermediates; runner clients do not verify anyway (§1.3).
    [ "$test" = amplificationlimit ] && trust=(--insecure)
    [ "$chacha" = 1 ] && extra=(--chacha20)
    cmd_for "$client" client
    local limit
    limit=$(timeout_for "$test")
    start=$(date +%s%N)
    if multiconnect "$test" && [ "$client" = ours ]; then
        # Our client does it in one process (the runner's TESTCASE=multiconnect).
        local urls=()
        for f in "${files[@]}"; do urls+=("https://$authority/$f"); done
        timeout -k 5 "$limit" "${CMD[@]}" "${trust[@]}" --multiconnect --timeout "$limit" \
            --downloads "$dir/downloads" "${urls[@]}" >"$dir/client.log" 2>&1 || rc=$?
    elif multiconnect "$test"; then
        # One process per file for the peers, as ngtcp2's runner endpoint does.
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
    if [[ $test == rebind-* ]]; then
        # BP/BA (RUNNER.md §2.3): the NAT must have moved the client at least once while the
        # transfer ran (PATH_CHALLENGE/RESPONSE are encrypted: not checked here).
        local rebinds
        rebinds=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["rebinds"])' "$summary" 2>/dev/null || echo 0)
        if [ "$rebinds" -lt 1 ]; then echo "FAIL no rebind happened"; return; fi
    fi
    if [ "$test" = amplificationlimit ]; then
        # RUNNER.md §2.3 A: the budget walk up to the client's second flight.
        local amp
        amp=$("$PYTHON" -c 'import json,sys; a=json.load(open(sys.argv[1]))["amplification"]
print("unvalidated" if not a["validated"] else "over3x" if a["over_3x"] else "ok", a["server_bytes"], a["client_bytes"])' "$summary")
        read -r amp_verdict amp_server amp_client <<<"$amp"
        if [ "$amp_verdict" != ok ]; then echo "FAIL amp $amp_verdict $amp_server/$amp_client"; return; fi
    fi
    if [ "$test" = ecn ]; then
        # RUNNER.md §2.3 E, the IP half: ECT marks from both sides, never CE.
        local ecn
        ecn=$("$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1]))
for side in ("to_server", "to_client"):
    e = d[side]["ecn"]
    if e["ce"] or not (e["ect0"] or e["ect1"]):
        print(side, "ect0=%d ect1=%d ce=%d" % (e["ect0"], e["ect1"], e["ce"])); break
else:
    print("ok")' "$summary")
        if [ "$ecn" != ok ]; then echo "FAIL ecn $ecn"; return; fi
    fi
    rm -rf "$dir/downloads"
    SPAN_MS=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["server_1rtt_span_ms"] or 0)' "$summary")
    echo "ok $((LAST_SECONDS / 1000)).$(( (LAST_SECONDS % 1000) / 100 ))s"
}

failed=0
[ ${#TESTS[@]} -gt 0 ] && {
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
}

if [ "$GOODPUT" = 1 ]; then
    runs=${GOODPUT_RUNS:-5}
    goodput_seed=${SEED:-1}
    if [ -z "$GOODPUT_PAIRS" ]; then
        for c in "${CLIENTS[@]}"; do for s in "${SERVERS[@]}"; do GOODPUT_PAIRS+="${GOODPUT_PAIRS:+,}$c:$s"; done; done
    fi
    IFS=, read -r -a pairs <<<"$GOODPUT_PAIRS"
    echo
    echo "goodput, 10 MiB, $runs runs each, Mbit/s = 8 x 10485760 / (last - first server 1-RTT packet at the client)"
    echo "  default: simple-p2p (10 Mbit/s, 15 ms one-way, 25-packet queue); 1% loss: the same with 1% loss each way"
    printf '%-8s %-8s | %-30s | %-30s\n' client server "default: mean (sd) [runs]" "1% loss: mean (sd) [runs]"
    for pair in "${pairs[@]}"; do
        c=${pair%%:*} s=${pair#*:}
        printf '%-8s %-8s' "$c" "$s"
        for scenario in goodput goodput-loss; do
            rates=()
            for run in $(seq "$runs"); do
                # run_cell sets SPAN_MS; it runs in this shell for that (no $(...)). Each run
                # gets its own proxy seed (the same set for every pair), so the mean covers
                # several loss patterns rather than one replayed five times.
                SPAN_MS=0
                SEED=$((goodput_seed + run - 1)) run_cell "$c" "$s" "$scenario" >"$WORK/cell.out"
                r=$(cat "$WORK/cell.out")
                if [[ $r == ok* ]] && [ "$SPAN_MS" != 0 ]; then
                    rates+=("$(awk -v ms="$SPAN_MS" 'BEGIN{ printf "%.3f", 10485760*8/(ms*1000) }')")
                else
                    rates+=("${r// /_}")
                    failed=1
                fi
            done
            printf ' | %-30s' "$(printf '%s\n' "${rates[@]}" | awk '
                /^[0-9.]+$/ { n++; s += $1; q += $1 * $1; v[n] = $1; next } { bad++ }
                END {
                    if (n == 0) { printf "failed (%d)", bad; exit }
                    m = s / n; sd = (n > 1) ? sqrt((q - n * m * m) / (n - 1)) : 0
                    printf "%.2f (%.2f) [%d%s]", m, sd, n, bad ? ", " bad " failed" : ""
                }')"
        done
        echo
    done
fi
exit $failed
