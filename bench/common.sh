# Shared by the benchmark scripts (sourced, not run): log lines, checks of the BENCH_* settings, stopping the
# processes a script started, and jq. The sourcing script sets BENCH_TAG (the name in its log lines) first.

log() { printf '[%s %s] %s\n' "$BENCH_TAG" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# require_whole WHAT VALUE...: every VALUE is a positive whole number, or the script stops naming WHAT.
require_whole() {
    local what="$1" value
    shift
    for value in "$@"; do
        [[ "$value" =~ ^[1-9][0-9]*$ ]] || die "$what must be positive whole numbers ('$value' is not one)"
    done
}

# require_backends BACKEND...: each is sqlite or postgres.
require_backends() {
    local backend
    for backend in "$@"; do
        case "$backend" in sqlite | postgres) ;; *) die "BENCH_BACKENDS: '$backend' is neither sqlite nor postgres" ;; esac
    done
}

# require_loopback_server URL: a postgres:// URL of a server on this machine.
require_loopback_server() {
    case "$1" in
        postgres://*@127.0.0.1:* | postgres://*@localhost:* | postgres://127.0.0.1:* | postgres://localhost:*) ;;
        *) die "BENCH_PG_SERVER must be a PostgreSQL server on loopback" ;;
    esac
}

# The processes the script started; stop_started stops every one still running and forgets them.
PIDS=()
stop_started() {
    local pid
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    PIDS=()
}

# Installs jq from Debian's packages when it is missing.
ensure_jq() {
    command -v jq >/dev/null && return
    log "installing jq"
    local sudo=""
    [[ "$(id -u)" -ne 0 ]] && sudo=sudo
    $sudo apt-get update -qq >&2
    $sudo apt-get install -y -qq jq >&2
}
