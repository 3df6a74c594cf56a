#!/usr/bin/env bash
# The gateway against Debian's nginx, in one run, on loopback: requests per second and p50/p99
# latency of small GETs over HTTP/3 and HTTP/2 through the gateway and over HTTP/2 through
# nginx (Debian's nginx has no HTTP/3 module), at 1 and 64 concurrent streams on one
# connection, both proxies in front of the same upstream.
#
#   benches/gateway-vs-nginx.sh            # DURATION=10 WARMUP=2 STREAMS=1,64 ROUNDS=1
#
# Setup (all in a temporary directory, removed at exit; everything runs as the current user):
#   - upstream: an nginx instance (1 worker) answering every GET with a 200 and a 100-byte
#     body over HTTP/1.1 keep-alive: fast enough not to be what is measured;
#   - the gateway (`gateway run`, release build) with a Gateway + VirtualService routing
#     bench.quic-corp.com/ to that upstream, HTTPS on TCP (h2) and its HTTP/3 mirror on UDP;
#   - nginx terminating TLS + HTTP/2 and proxy_passing HTTP/1.1 keep-alive to the same upstream,
#     `worker_processes auto` (as many as the gateway's tokio workers: one per core). One client
#     connection is served by one nginx worker (one core), while the gateway spreads a
#     connection's request and upstream tasks over its workers: compare cpu us/req too;
#   - one ECDSA P-256 CA and leaf (openssl) shared by both proxies; access logs off in both.
# The load generator is `gateway_load` (benches/src/bin/gateway_load.rs). With h2load
# (Debian nghttp2-client) installed, its HTTP/2 numbers are printed too as a cross-check
# (h2load reports the mean request time, not percentiles).
#
# Environment: DURATION, WARMUP (seconds), STREAMS (comma list), ROUNDS (the whole matrix
# repeated, target order alternating), LOADGEN_THREADS (load generator workers, default 1),
# H2LOAD=0 to skip the cross-check, NGINX (path of the nginx binary), SKIP_BUILD=1 to use the
# release binaries already built, GATEWAY_BIN / LOADGEN_BIN to use other binaries.
# Columns: rps, p50/p99 latency, and cpu us/req: the proxy's CPU time (gateway process; nginx
# worker processes) over the measured window per request, a steadier comparison than rps on
# a machine the load generator and the upstream share; client us: the load generator's own
# CPU per request (the HTTP/3 client is ours, the HTTP/2 one hyper's).
# Requires: cargo, openssl, curl, python3, nginx (apt-get install -y nginx-light).
#
# The machine is shared by the load generator, both proxies and the upstream: the numbers
# compare the proxies under the same conditions, they are not absolute capacities. `uptime`
# is printed before and after.
set -euo pipefail

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
STREAMS=${STREAMS:-1,64}
ROUNDS=${ROUNDS:-1}
LOADGEN_THREADS=${LOADGEN_THREADS:-1}
H2LOAD=${H2LOAD:-1}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
HOST=bench.quic-corp.com
ROOT=$(cd "$(dirname "$0")/.." && pwd)

for tool in openssl curl python3; do
    command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 1; }
done
[ -x "$NGINX" ] || { echo "error: nginx not found (apt-get install -y nginx-light)" >&2; exit 1; }

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    echo "== build (release)" >&2
    (cd "$ROOT" && cargo build --release -q -p gateway --bin gateway -p benches --bin gateway_load)
fi
if [ -z "${GATEWAY_BIN:-}" ] || [ -z "${LOADGEN_BIN:-}" ]; then
    TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
fi
GATEWAY=${GATEWAY_BIN:-$TARGET_DIR/release/gateway}
LOADGEN=${LOADGEN_BIN:-$TARGET_DIR/release/gateway_load}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gateway-vs-nginx.XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Free loopback ports, asked from the kernel (the gateway needs its port free on TCP and UDP).
read -r UPSTREAM_PORT GATEWAY_PORT NGINX_PORT STATUS_PORT < <(python3 - <<'EOF'
import socket
ports, socks = [], []
while len(ports) < 4:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p))
    except OSError:
        t.close(); continue
    socks += [t, u]; ports.append(p)
print(*ports)
EOF
)

echo "== certificates" >&2
mkdir -p "$WORK/creds"
(
    cd "$WORK/creds"
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
    openssl req -x509 -new -key ca.key -sha256 -days 2 -subj "/CN=bench CA" -out ca.crt 2>/dev/null
    openssl ecparam -name prime256v1 -genkey -noout -out leaf.ec.key 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in leaf.ec.key -out bench-credential.key
    openssl req -new -key bench-credential.key -subj "/CN=$HOST" -out leaf.csr 2>/dev/null
    printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$HOST" > leaf.ext
    openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -sha256 \
        -extfile leaf.ext -out bench-credential.crt 2>/dev/null
)
CA="$WORK/creds/ca.crt"

# nginx runs in the foreground of its own temp prefix; as root its workers would switch to
# `nobody`, so keep them as the current user.
nginx_common() {
    local name=$1
    mkdir -p "$WORK/$name"
    if [ "$(id -u)" = 0 ]; then echo "user $(id -un) $(id -gn);"; fi
    cat <<EOF
daemon off;
pid $WORK/$name/nginx.pid;
error_log $WORK/$name/error.log warn;
events { worker_connections 1024; }
EOF
}
nginx_temp_paths() {
    local name=$1
    cat <<EOF
    client_body_temp_path $WORK/$name/client_body;
    proxy_temp_path $WORK/$name/proxy;
    fastcgi_temp_path $WORK/$name/fastcgi;
    uwsgi_temp_path $WORK/$name/uwsgi;
    scgi_temp_path $WORK/$name/scgi;
    access_log off;
EOF
}

BODY=$(python3 -c 'print("x" * 99)')
{
    nginx_common upstream
    echo "worker_processes 1;"
    echo "http {"
    nginx_temp_paths upstream
    cat <<EOF
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    server {
        listen 127.0.0.1:$UPSTREAM_PORT;
        default_type text/plain;
        location / { return 200 "$BODY\n"; }
    }
}
EOF
} > "$WORK/upstream.conf"

{
    nginx_common proxy
    echo "worker_processes auto;"
    echo "http {"
    nginx_temp_paths proxy
    cat <<EOF
    upstream bench_upstream {
        server 127.0.0.1:$UPSTREAM_PORT;
        keepalive 128;
        keepalive_requests 100000000;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT ssl http2;
        server_name $HOST;
        ssl_certificate $WORK/creds/bench-credential.crt;
        ssl_certificate_key $WORK/creds/bench-credential.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        # One connection carries the whole run: never close it for its request count.
        keepalive_requests 100000000;
        keepalive_timeout 300s;
        http2_max_concurrent_streams 128;
        location / {
            proxy_pass http://bench_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
        }
    }
}
EOF
} > "$WORK/nginx.conf"

mkdir -p "$WORK/manifests"
cat > "$WORK/manifests/bench.yaml" <<EOF
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: bench-gateway
spec:
  servers:
  - port:
      number: 443
      name: https
      protocol: HTTPS
    tls:
      mode: SIMPLE
      credentialName: bench-credential
    hosts:
    - $HOST
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: bench
spec:
  hosts:
  - $HOST
  gateways:
  - bench-gateway
  http:
  - route:
    - destination:
        host: upstream.bench.svc.cluster.local
        port:
          number: 8000
EOF
cat > "$WORK/settings.yaml" <<EOF
enableQuicListeners: true
bindAddress: 127.0.0.1
statusPort: $STATUS_PORT
drainTimeout: 1s
ports:
  443: $GATEWAY_PORT
upstreams:
  upstream.bench.svc.cluster.local:8000: 127.0.0.1:$UPSTREAM_PORT
credentialDirectory: $WORK/creds
EOF

echo "== start upstream, nginx, gateway" >&2
"$NGINX" -p "$WORK/upstream" -c "$WORK/upstream.conf" -e "$WORK/upstream/error.log" &
PIDS+=($!)
"$NGINX" -p "$WORK/proxy" -c "$WORK/nginx.conf" -e "$WORK/proxy/error.log" &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
# --log warn: no access-log line per request (nginx has access_log off too).
PILOT_ENABLE_QUIC_LISTENERS=true "$GATEWAY" --log warn run --config "$WORK/manifests" \
    --settings "$WORK/settings.yaml" 2> "$WORK/gateway.log" &
GATEWAY_PID=$!
PIDS+=("$GATEWAY_PID")

wait_for() {
    local what=$1; shift
    for _ in $(seq 1 100); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "error: $what did not come up" >&2
    cat "$WORK"/*/error.log "$WORK/gateway.log" >&2 || true
    exit 1
}
wait_for upstream curl -sf "http://127.0.0.1:$UPSTREAM_PORT/small"
wait_for gateway curl -sf "http://127.0.0.1:$STATUS_PORT/healthz/ready"

# Both proxies must answer from the same upstream, over HTTP/2.
expected=$(curl -sf "http://127.0.0.1:$UPSTREAM_PORT/small")
for port in "$GATEWAY_PORT" "$NGINX_PORT"; do
    wait_for "proxy on $port" curl -sf --http2 --cacert "$CA" \
        --resolve "$HOST:$port:127.0.0.1" "https://$HOST:$port/small"
    got=$(curl -sf --http2 --cacert "$CA" --resolve "$HOST:$port:127.0.0.1" \
        -w '%{http_version}' -o "$WORK/check.body" "https://$HOST:$port/small")
    if [ "$got" != 2 ] || [ "$(cat "$WORK/check.body")" != "$expected" ]; then
        echo "error: https://$HOST:$port/small did not answer over HTTP/2 with the upstream's body" >&2
        exit 1
    fi
done

# The processes that serve requests: the gateway; nginx's workers (not its idle master).
NGINX_WORKERS=$(pgrep -P "$NGINX_PID" | sed 's/^/--cpu-pid /' | tr '\n' ' ')
[ -n "$NGINX_WORKERS" ] || { echo "error: no nginx worker processes" >&2; exit 1; }

load() {
    local target=$1 proto=$2 port=$3; shift 3
    local cpu
    if [ "$target" = gateway ]; then cpu="--cpu-pid $GATEWAY_PID"; else cpu=$NGINX_WORKERS; fi
    # shellcheck disable=SC2086 # $cpu is a list of arguments
    "$LOADGEN" --target "$target" --protocol "$proto" --connect "127.0.0.1:$port" $cpu \
        --cacert "$CA" --streams "$STREAMS" --duration "$DURATION" --warmup "$WARMUP" \
        --threads "$LOADGEN_THREADS" "$@" "https://$HOST:$port/small"
}

h2load_row() {
    local target=$1 port=$2 streams=$3 out rps mean
    out=$(h2load -c 1 -m "$streams" -D "$DURATION" --warm-up-time "$WARMUP" \
        --connect-to "127.0.0.1:$port" "https://$HOST:$port/small" 2>&1) || {
        echo "h2load against $target failed:" >&2; echo "$out" >&2; return 0; }
    rps=$(echo "$out" | sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p')
    mean=$(echo "$out" | awk '/^time for request:/ {print $6}')
    printf '%-18s | %-8s | %7s | %9.0f | mean %s\n' "h2load-$target" h2 "$streams" "$rps" "$mean"
}

echo "== uptime before: $(uptime)"
echo "   $(nproc) CPUs; DURATION=${DURATION}s WARMUP=${WARMUP}s STREAMS=$STREAMS ROUNDS=$ROUNDS LOADGEN_THREADS=$LOADGEN_THREADS"
echo "   nginx: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //') (HTTP/2 only: no HTTP/3 module in Debian's build)"
header=--header
for round in $(seq 1 "$ROUNDS"); do
    # Alternate which proxy goes first, so slow drift in the machine's load hits both.
    if [ $((round % 2)) = 1 ]; then order="gateway nginx"; else order="nginx gateway"; fi
    for target in $order; do
        if [ "$target" = gateway ]; then
            load gateway h3 "$GATEWAY_PORT" $header
            header=
            load gateway h2 "$GATEWAY_PORT"
        else
            load nginx h2 "$NGINX_PORT" $header
            header=
        fi
    done
done
if [ "$H2LOAD" = 1 ] && command -v h2load >/dev/null; then
    echo "== cross-check: h2load (one connection, -m streams), HTTP/2"
    for streams in ${STREAMS//,/ }; do
        h2load_row gateway "$GATEWAY_PORT" "$streams"
        h2load_row nginx "$NGINX_PORT" "$streams"
    done
fi
echo "== uptime after: $(uptime)"
