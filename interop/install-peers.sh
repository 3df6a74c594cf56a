#!/usr/bin/env bash
# Installs the third-party QUIC peers of the interop matrix on a Debian machine (idempotent):
#   ngtcp2  apt ngtcp2-client/ngtcp2-server (gtlsclient/gtlsserver; HTTP/3 only, used by
#           interop/peers/h3-matrix.sh)
#   aioquic pip aioquic==$AIOQUIC_VERSION for $PYTHON (interop/peers/aioquic_hq.py and
#           aioquic_h3.py use it)
#   quinn   cargo build --release -p quinn-hq (interop/peers/quinn-hq) and the standalone
#           interop/peers/quinn-h3 (quinn + hyperium/h3)
#   curl    pip curl-cffi==$CURL_CFFI_VERSION for $PYTHON: libcurl with HTTP/3
#           (interop/peers/curl_h3.py uses it)
# Also makes sure openssl (used by interop/peers/selftest.sh) is there.
# Prints one summary line per peer; detailed logs go to $LOG_DIR. Exits non-zero if any peer
# failed, after trying all of them.
#
# Environment: PYTHON (default python3), AIOQUIC_VERSION (default 1.7.2),
#              CURL_CFFI_VERSION (default 0.17.0),
#              LOG_DIR (default a fresh temp dir), CARGO_TARGET_DIR (honoured).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
AIOQUIC_VERSION=${AIOQUIC_VERSION:-1.7.2}
CURL_CFFI_VERSION=${CURL_CFFI_VERSION:-0.17.0}
LOG_DIR=${LOG_DIR:-$(mktemp -d /tmp/install-peers.XXXXXX)}
mkdir -p "$LOG_DIR"

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-peers: not root and no sudo" >&2; exit 1; }
    SUDO=(sudo)
fi

failed=0
ok() { printf '%-8s ok    %s\n' "$1" "$2"; }
bad() { printf '%-8s FAIL  %s\n' "$1" "$2"; failed=1; }

apt_updated=0
apt_update() {
    if [ "$apt_updated" -eq 0 ]; then
        "${SUDO[@]}" apt-get update -qq >>"$LOG_DIR/apt.log" 2>&1 || return 1
        apt_updated=1
    fi
}

# Prints the candidate version of a Debian package, or nothing if this release has none.
apt_candidate() {
    apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { if ($2 != "(none)") print $2 }'
}

installed_version() {
    dpkg-query -W -f='${db:Status-Status} ${Version}' "$1" 2>/dev/null |
        awk '$1 == "installed" { print $2 }'
}

# Installs Debian packages that are missing; returns 2 if one does not exist on this release.
apt_install() {
    local missing=() pkg
    for pkg in "$@"; do
        [ -n "$(installed_version "$pkg")" ] || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    apt_update || return 1
    for pkg in "${missing[@]}"; do
        [ -n "$(apt_candidate "$pkg")" ] || { echo "$pkg" >"$LOG_DIR/apt-missing"; return 2; }
    done
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >>"$LOG_DIR/apt.log" 2>&1
}

install_ngtcp2() {
    local rc=0
    apt_install ngtcp2-client ngtcp2-server || rc=$?
    if [ "$rc" -eq 2 ]; then
        bad ngtcp2 "package $(cat "$LOG_DIR/apt-missing") does not exist on Debian $(cat /etc/debian_version 2>/dev/null || echo '?') (apt-cache policy shows no candidate); not installed"
        return
    elif [ "$rc" -ne 0 ]; then
        bad ngtcp2 "apt-get failed, see $LOG_DIR/apt.log"
        return
    fi
    local usage
    # The Debian binaries have no --version; their usage line proves they run.
    usage=$(gtlsclient --help 2>&1 | head -n 1) || true
    if ! command -v gtlsclient >/dev/null || ! command -v gtlsserver >/dev/null; then
        bad ngtcp2 "gtlsclient/gtlsserver not on PATH after install"
        return
    fi
    ok ngtcp2 "ngtcp2-client $(installed_version ngtcp2-client), ngtcp2-server $(installed_version ngtcp2-server): gtlsclient/gtlsserver, HTTP/3 only (\"$usage\")"
}

install_aioquic() {
    local have pyver flags=()
    have=$("$PYTHON" -c 'import aioquic; print(aioquic.__version__)' 2>/dev/null) || have=
    if [ "$have" != "$AIOQUIC_VERSION" ]; then
        if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
            if ! apt_install python3-pip; then
                bad aioquic "pip missing for $PYTHON and python3-pip could not be installed"
                return
            fi
        fi
        # Debian's own interpreter refuses pip installs (PEP 668) unless told otherwise;
        # pip then installs under /usr/local, apart from apt's packages.
        if "$PYTHON" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
            flags+=(--break-system-packages)
        fi
        [ "$(id -u)" -eq 0 ] || flags+=(--user)
        if ! "$PYTHON" -m pip install -q --disable-pip-version-check --root-user-action=ignore \
            "${flags[@]}" "aioquic==$AIOQUIC_VERSION" >"$LOG_DIR/pip.log" 2>&1; then
            bad aioquic "pip install aioquic==$AIOQUIC_VERSION failed, see $LOG_DIR/pip.log"
            return
        fi
        have=$("$PYTHON" -c 'import aioquic; print(aioquic.__version__)' 2>/dev/null) || have=
    fi
    pyver=$("$PYTHON" -c 'import platform; print(platform.python_version())')
    if [ "$have" != "$AIOQUIC_VERSION" ]; then
        bad aioquic "aioquic ${have:-missing} importable from $PYTHON, wanted $AIOQUIC_VERSION"
    elif ! "$PYTHON" "$ROOT/interop/peers/aioquic_hq.py" --help >/dev/null 2>&1; then
        bad aioquic "interop/peers/aioquic_hq.py does not start under $PYTHON"
    elif ! "$PYTHON" "$ROOT/interop/peers/aioquic_h3.py" --help >/dev/null 2>&1; then
        bad aioquic "interop/peers/aioquic_h3.py does not start under $PYTHON"
    else
        ok aioquic "aioquic $have on $(command -v "$PYTHON") (Python $pyver): interop/peers/aioquic_hq.py, aioquic_h3.py"
    fi
}

pip_install() { # requirement log -> 0 on success
    local flags=()
    if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
        apt_install python3-pip || return 1
    fi
    if "$PYTHON" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
        flags+=(--break-system-packages)
    fi
    [ "$(id -u)" -eq 0 ] || flags+=(--user)
    "$PYTHON" -m pip install -q --disable-pip-version-check --root-user-action=ignore \
        "${flags[@]}" "$1" >"$2" 2>&1
}

install_curl_cffi() {
    local have
    have=$("$PYTHON" -c 'import curl_cffi; print(curl_cffi.__version__)' 2>/dev/null) || have=
    if [ "$have" != "$CURL_CFFI_VERSION" ]; then
        if ! pip_install "curl-cffi==$CURL_CFFI_VERSION" "$LOG_DIR/pip-curl-cffi.log"; then
            bad curl "pip install curl-cffi==$CURL_CFFI_VERSION failed, see $LOG_DIR/pip-curl-cffi.log"
            return
        fi
        have=$("$PYTHON" -c 'import curl_cffi; print(curl_cffi.__version__)' 2>/dev/null) || have=
    fi
    if [ "$have" != "$CURL_CFFI_VERSION" ]; then
        bad curl "curl_cffi ${have:-missing} importable from $PYTHON, wanted $CURL_CFFI_VERSION"
    elif ! "$PYTHON" -c 'from curl_cffi import CurlHttpVersion; CurlHttpVersion.V3ONLY' 2>/dev/null; then
        bad curl "curl_cffi $have has no CurlHttpVersion.V3ONLY (HTTP/3 only)"
    elif ! "$PYTHON" "$ROOT/interop/peers/curl_h3.py" --help >/dev/null 2>&1; then
        bad curl "interop/peers/curl_h3.py does not start under $PYTHON"
    else
        ok curl "curl_cffi $have (bundled libcurl with HTTP/3): interop/peers/curl_h3.py"
    fi
}

install_quinn() {
    local target=${CARGO_TARGET_DIR:-$ROOT/target} quinn
    if ! command -v cargo >/dev/null; then
        bad quinn "cargo not found (install a Rust toolchain first)"
        return
    fi
    if ! (cd "$ROOT" && cargo build --release -q -p quinn-hq) >"$LOG_DIR/cargo.log" 2>&1; then
        bad quinn "cargo build --release -p quinn-hq failed, see $LOG_DIR/cargo.log"
        return
    fi
    quinn=$(awk '$0 == "name = \"quinn\"" { getline; gsub(/[^0-9.]/, ""); print }' "$ROOT/Cargo.lock")
    if ! "$target/release/quinn-hq" --help >/dev/null 2>&1; then
        bad quinn "$target/release/quinn-hq does not run"
        return
    fi
    # A workspace of its own (its hyperium `h3` dependency would clash with our `h3` crate).
    if ! (cd "$ROOT" && CARGO_TARGET_DIR=$target cargo build --release -q \
        --manifest-path interop/peers/quinn-h3/Cargo.toml) >"$LOG_DIR/cargo-h3.log" 2>&1; then
        bad quinn "cargo build --release --manifest-path interop/peers/quinn-h3/Cargo.toml failed, see $LOG_DIR/cargo-h3.log"
        return
    fi
    if "$target/release/quinn-h3" --help >/dev/null 2>&1; then
        ok quinn "quinn ${quinn:-?}: $target/release/quinn-hq, $target/release/quinn-h3 (hyperium/h3)"
    else
        bad quinn "$target/release/quinn-h3 does not run"
    fi
}

if ! command -v openssl >/dev/null && ! apt_install openssl; then
    echo "install-peers: warning: openssl missing (needed by interop/peers/selftest.sh)" >&2
fi
install_ngtcp2
install_aioquic
install_quinn
install_curl_cffi
[ "$failed" -eq 0 ] || echo "install-peers: some peers failed; logs in $LOG_DIR" >&2
exit "$failed"
