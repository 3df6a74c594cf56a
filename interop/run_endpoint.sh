#!/usr/bin/env bash
# Entry point of our interop-runner endpoint image (see ../shared/interop/RUNNER.md §1, §5.4).
# Outside a container, set ROLE/TESTCASE/REQUESTS yourself and pass overrides through
# QUIC_INTEROP_ARGS (e.g. "--www /tmp/www --certs /tmp/certs --listen 127.0.0.1:4433"), and
# SKIP_SETUP=1 to skip the container's /setup.sh and the wait for the simulator.
set -euo pipefail

BIN=${QUIC_INTEROP_BIN:-/usr/local/bin/quic-interop}
SUPPORTED="handshake transfer multiplexing chacha20 longrtt http3 multiconnect ecn"

# RUNNER.md §1.5: an unsupported test case exits 127 at once, in both roles, before any wait.
case " $SUPPORTED " in
    *" ${TESTCASE:-} "*) ;;
    *) echo "quic-interop: test case '${TESTCASE:-}' is not supported"; exit 127 ;;
esac

if [ "${SKIP_SETUP:-0}" != 1 ]; then
    # Routes through the simulator, TX checksum offload off, /logs/qlog (RUNNER.md §1.4).
    /setup.sh
    if [ "${ROLE:-}" = client ]; then
        # The client starts when the network simulation starts.
        /wait-for-it.sh sim:57832 -s -t 30
    fi
fi

# shellcheck disable=SC2086 # QUIC_INTEROP_ARGS is a list of flags
exec "$BIN" ${QUIC_INTEROP_ARGS:-}
