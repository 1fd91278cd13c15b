#!/usr/bin/env bash
# Read-path benchmark: linkwell's GET endpoints against a bare axum server answering the same bytes from memory,
# on SQLite and PostgreSQL, at several company counts. See bench/README.md.
#
# Environment (all optional):
#   BENCH_BACKENDS     "sqlite postgres"   backends to run (space- or comma-separated)
#   BENCH_SIZES        "1000 100000"       company counts to run
#   BENCH_DURATION     10s                 length of one wrk run
#   BENCH_ROUNDS       3                   measured runs per target (linkwell and bare alternate); medians reported
#   BENCH_WARMUP       3s                  unmeasured wrk run against each target before the rounds
#   BENCH_CONNECTIONS  32                  wrk -c
#   BENCH_THREADS      2                   wrk -t
#   BENCH_PAGE_SIZE    100                 pageSize of the company listings
#   BENCH_DEEP_PAGE    (last page)         the deep listing page; default companies / pageSize
#   BENCH_LOG_VARIANT  1                   also measure the connection read once per backend, at the largest
#                                          size, with linkwell's default logging (info, to a file); 0 to skip
#   BENCH_UNCACHED     1                   also measure each listing with `Cache-Control: no-cache`, which makes
#                                          linkwell render every response from the database (the cost of a miss
#                                          of its listing cache); 0 to skip. PostgreSQL has no listing cache: its
#                                          plain listing rows already are the uncached figure, so it is not repeated
#   BENCH_CONNECTIONS_PER_COMPANY 1        connections seeded per company
#   BENCH_SKIP_BUILD   0                   1: use the release binaries already built
#   BENCH_KEEP_WORK    0                   1: keep the work directory (databases, bodies, server logs)
#   BENCH_LINKWELL_PORT 18181, BENCH_BARE_PORT 18182   loopback ports
#   BENCH_PG_HOST 127.0.0.1, BENCH_PG_PORT 5432, BENCH_PG_USER postgres, BENCH_PG_DB linkwell_bench
#                                          (the database is dropped and created for every size)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
BACKENDS="${BACKENDS//,/ }"
SIZES="${BENCH_SIZES:-1000 100000}"
SIZES="${SIZES//,/ }"
DURATION="${BENCH_DURATION:-10s}"
ROUNDS="${BENCH_ROUNDS:-3}"
WARMUP="${BENCH_WARMUP:-3s}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
THREADS="${BENCH_THREADS:-2}"
PAGE_SIZE="${BENCH_PAGE_SIZE:-100}"
DEEP_PAGE="${BENCH_DEEP_PAGE:-}"
LOG_VARIANT="${BENCH_LOG_VARIANT:-1}"
UNCACHED="${BENCH_UNCACHED:-1}"
CONNECTIONS_PER_COMPANY="${BENCH_CONNECTIONS_PER_COMPANY:-1}"
LINKWELL_PORT="${BENCH_LINKWELL_PORT:-18181}"
BARE_PORT="${BENCH_BARE_PORT:-18182}"
PG_HOST="${BENCH_PG_HOST:-127.0.0.1}"
PG_PORT="${BENCH_PG_PORT:-5432}"
PG_USER="${BENCH_PG_USER:-postgres}"
PG_DB="${BENCH_PG_DB:-linkwell_bench}"
HOST=127.0.0.1
RESULTS="$ROOT/bench/results"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"

BENCH_TAG=bench
# shellcheck source=bench/common.sh
source "$ROOT/bench/common.sh"

case "$PG_HOST" in 127.0.0.1 | localhost | ::1) ;; *) die "BENCH_PG_HOST must be a loopback address" ;; esac
# shellcheck disable=SC2086 # one size, one backend per word
{
    require_whole "BENCH_ROUNDS and BENCH_SIZES" "$ROUNDS" $SIZES
    require_backends $BACKENDS
}

# ---------------------------------------------------------------------------------------------------- processes
WORK=""
cleanup() {
    stop_started
    if [[ -n "$WORK" && -d "$WORK" ]]; then
        if [[ "${BENCH_KEEP_WORK:-0}" == 1 ]]; then
            log "work directory kept: $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Stops one process this script started and forgets it.
stop() {
    local pid="$1" kept=() p
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    for p in "${PIDS[@]}"; do [[ "$p" != "$pid" ]] && kept+=("$p"); done
    PIDS=("${kept[@]+"${kept[@]}"}")
}

# Waits until GET url answers 200, or fails if the process died or 30 s passed.
wait_ready() {
    local pid="$1" url="$2" i
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || die "process $pid exited before $url answered"
        if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    die "$url did not answer within 30 s"
}

port_free() { ! curl -s -o /dev/null --max-time 1 "http://$HOST:$1/" 2>/dev/null; }

# ----------------------------------------------------------------------------------------------------- set-up
if ! command -v wrk >/dev/null; then
    log "installing wrk"
    SUDO=""
    [[ "$(id -u)" -ne 0 ]] && SUDO=sudo
    $SUDO apt-get update -qq >&2
    $SUDO apt-get install -y -qq wrk >&2
fi
command -v curl >/dev/null || die "curl is needed"
if [[ " $BACKENDS " == *" postgres "* ]]; then
    command -v psql >/dev/null || die "psql is needed for the postgres backend"
fi
port_free "$LINKWELL_PORT" || die "something already listens on $HOST:$LINKWELL_PORT"
port_free "$BARE_PORT" || die "something already listens on $HOST:$BARE_PORT"

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    log "building release binaries"
    (cd "$ROOT" && cargo build --release -p linkwell -p linkwell-bench-tools >&2)
fi
for binary in linkwell seed bare-server; do
    [[ -x "$BIN/$binary" ]] || die "$BIN/$binary is missing (build with cargo build --release)"
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/linkwell-bench.XXXXXX")"
mkdir -p "$RESULTS"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RAW="$RESULTS/$STAMP-raw"
mkdir -p "$RAW"

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres "$@" >&2; }

# Prints the database URL for a fresh, empty database of the backend.
fresh_database() {
    local backend="$1" size="$2"
    case "$backend" in
        sqlite)
            local file="$WORK/linkwell-$size.db"
            rm -f "$file" "$file-wal" "$file-shm"
            echo "sqlite://$file?mode=rwc"
            ;;
        postgres)
            psql_admin -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" -c "CREATE DATABASE $PG_DB"
            echo "postgres://$PG_USER@$PG_HOST:$PG_PORT/$PG_DB"
            ;;
    esac
}

# ----------------------------------------------------------------------------------------------------- wrk
# One wrk run against $1, keeping wrk's output in $2. Sets WRK_RPS, WRK_P99 (ms) and WRK_BAD (non-2xx responses
# plus socket errors). wrk runs in the background so that a signal reaches the trap at once.
# EXTRA_HEADER, when set, is sent with every request.
wrk_once() {
    local url="$1" out="$2" duration="$3" pid parsed
    local extra=()
    if [[ -n "${EXTRA_HEADER:-}" ]]; then extra=(-H "$EXTRA_HEADER"); fi
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" --timeout 30s --latency \
        -H "Authorization: Basic $AUTH" ${extra[@]+"${extra[@]}"} "$url" >"$out" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait "$pid" || die "wrk failed, see $out"
    stop "$pid"
    parsed="$(awk '
        function ms(value,   number, unit) {
            number = value + 0; unit = value; sub(/^[0-9.]+/, "", unit)
            if (unit == "us") return number / 1000
            if (unit == "s") return number * 1000
            if (unit == "m") return number * 60000
            return number
        }
        /Requests\/sec:/ { rps = $2 }
        /^ +99%/ { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { bad += $NF }
        /Socket errors:/ { gsub(/,/, ""); bad += $4 + $6 + $8 + $10 }
        END { if (rps == "" || p99 == "") exit 1; printf "%s %.3f %d\n", rps, p99, bad }
    ' "$out")" || die "could not read wrk's output in $out"
    read -r WRK_RPS WRK_P99 WRK_BAD <<<"$parsed"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

ROWS=()    # markdown rows
DETAILS=() # per-row raw rounds
GOALS=()   # goal checks (SQLite rows)
ROW_NUMBER=0

# Measures one endpoint of the running linkwell against a bare server answering the same bytes. A fifth argument
# is a header sent with every request to linkwell and to the bare server (the endpoint column shows it).
measure() {
    local label="$1" companies="$2" endpoint="$3" path="$4"
    local EXTRA_HEADER="${5:-}"
    local url="http://$HOST:$LINKWELL_PORT$path" bare_url="http://$HOST:$BARE_PORT$path"
    if [[ -n "$EXTRA_HEADER" ]]; then endpoint="$endpoint\` with \`$EXTRA_HEADER"; fi
    ROW_NUMBER=$((ROW_NUMBER + 1))
    local tag
    tag="$(printf '%02d' "$ROW_NUMBER")-${label%% *}-$companies"
    [[ "$label" == *LINKWELL_LOG* ]] && tag="$tag-logging"
    if [[ -n "$EXTRA_HEADER" ]]; then tag="$tag-uncached"; fi
    local body="$WORK/body-$ROW_NUMBER.json" again="$WORK/body-$ROW_NUMBER.again.json"
    local status curl_extra=()
    if [[ -n "$EXTRA_HEADER" ]]; then curl_extra=(-H "$EXTRA_HEADER"); fi
    status="$(curl -sS -o "$body" -w '%{http_code}' -H "Authorization: Basic $AUTH" ${curl_extra[@]+"${curl_extra[@]}"} "$url")"
    [[ "$status" == 200 ]] || die "GET $path answered $status: $(head -c 300 "$body")"
    curl -sS -o "$again" -H "Authorization: Basic $AUTH" ${curl_extra[@]+"${curl_extra[@]}"} "$url"
    cmp -s "$body" "$again" || log "warning: two reads of $path gave different bodies"
    local bytes
    bytes="$(wc -c <"$body" | tr -d ' ')"

    "$BIN/bare-server" --listen "$HOST:$BARE_PORT" --body "$body" 2>"$WORK/bare-$ROW_NUMBER.log" &
    local bare_pid=$!
    PIDS+=("$bare_pid")
    wait_ready "$bare_pid" "$bare_url"
    cmp -s "$body" <(curl -sS "$bare_url") || die "bare-server does not answer the same bytes"

    log "$label, $companies companies, $endpoint ($bytes bytes): warm-up"
    wrk_once "$url" "$RAW/$tag-warmup-linkwell.txt" "$WARMUP"
    wrk_once "$bare_url" "$RAW/$tag-warmup-bare.txt" "$WARMUP"
    local l_rps=() l_p99=() b_rps=() b_p99=() l_bad=0 b_bad=0 round
    for ((round = 1; round <= ROUNDS; round++)); do
        wrk_once "$url" "$RAW/$tag-round$round-linkwell.txt" "$DURATION"
        l_rps+=("$WRK_RPS"); l_p99+=("$WRK_P99"); l_bad=$((l_bad + WRK_BAD))
        wrk_once "$bare_url" "$RAW/$tag-round$round-bare.txt" "$DURATION"
        b_rps+=("$WRK_RPS"); b_p99+=("$WRK_P99"); b_bad=$((b_bad + WRK_BAD))
        log "  round $round: linkwell ${l_rps[-1]} req/s p99 ${l_p99[-1]} ms | bare ${b_rps[-1]} req/s p99 ${b_p99[-1]} ms"
    done
    stop "$bare_pid"

    local lr lp br bp ratio warn=""
    lr="$(median "${l_rps[@]}")"; lp="$(median "${l_p99[@]}")"
    br="$(median "${b_rps[@]}")"; bp="$(median "${b_p99[@]}")"
    ratio="$(awk -v l="$lr" -v b="$br" 'BEGIN { printf "%.2f", (b > 0 ? l / b : 0) }')"
    if ((l_bad > 0 || b_bad > 0)); then
        warn=" ⚠"
        log "  warning: non-2xx responses or socket errors: linkwell $l_bad, bare $b_bad"
    fi
    # shellcheck disable=SC2016 # the backticks are Markdown
    ROWS+=("$(printf '| %s | %s | `%s` | %.0f%s | %.0f | %s | %.2f ms | %.2f ms |' \
        "$label" "$companies" "$endpoint" "$lr" "$warn" "$br" "$ratio" "$lp" "$bp")")
    DETAILS+=("- $label, $companies, \`$endpoint\` ($bytes-byte body): linkwell req/s ${l_rps[*]}, p99 ms ${l_p99[*]}; bare req/s ${b_rps[*]}, p99 ms ${b_p99[*]}; errors linkwell $l_bad, bare $b_bad")
    if [[ "$label" == sqlite* ]]; then
        local verdict note=""
        if [[ -n "$EXTRA_HEADER" ]]; then note=" (every request a cache miss)"; fi
        verdict="$(awk -v r="$ratio" -v p="$lp" 'BEGIN {
            ok = (r >= 0.60 && p < 5.0)
            printf "%s ratio %s %s 0.60, p99 %.2f ms %s 5 ms", (ok ? "✅" : "❌"), r, (r >= 0.60 ? "≥" : "<"), p, (p < 5.0 ? "<" : "≥")
        }')"
        GOALS+=("- $verdict — $label, $companies companies, \`$endpoint\`$note")
    fi
}

# Starts linkwell on the database; the arguments after the log file go to env(1) (assignments, -u NAME).
start_linkwell() {
    local url="$1" logfile="$2"
    shift 2
    env "$@" LINKWELL_DATABASE_URL="$url" LINKWELL_LISTEN="$HOST:$LINKWELL_PORT" \
        "$BIN/linkwell" serve 2>"$logfile" &
    LINKWELL_PID=$!
    PIDS+=("$LINKWELL_PID")
    wait_ready "$LINKWELL_PID" "http://$HOST:$LINKWELL_PORT/health"
}

# ----------------------------------------------------------------------------------------------------- runs
STARTED="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
LARGEST=0
for size in $SIZES; do ((size > LARGEST)) && LARGEST="$size"; done
for backend in $BACKENDS; do
    for size in $SIZES; do
        log "== $backend, $size companies: fresh database and seed"
        url="$(fresh_database "$backend" "$size")"
        if [[ "$backend" == postgres ]]; then
            # Only the seed's commits skip the WAL flush; the measured runs only read.
            psql_admin -c "ALTER DATABASE $PG_DB SET synchronous_commit = off"
        fi
        "$BIN/seed" --database-url "$url" --companies "$size" \
            --connections-per-company "$CONNECTIONS_PER_COMPANY" --concurrency 8 >"$WORK/seed.json" &
        seed_pid=$!
        PIDS+=("$seed_pid")
        wait "$seed_pid" || die "seed failed"
        stop "$seed_pid"
        seed_line="$(cat "$WORK/seed.json")"
        if [[ "$backend" == postgres ]]; then
            psql_admin -c "ALTER DATABASE $PG_DB RESET synchronous_commit"
            # What autovacuum would do shortly after a bulk load: planner statistics and the visibility map.
            psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" -c "VACUUM ANALYZE" >&2
        fi
        log "seeded: $seed_line"
        api_key="$(sed -E 's/.*"apiKey":"([^"]+)".*/\1/' <<<"$seed_line")"
        company_id="$(sed -E 's/.*"companyId":"([^"]+)".*/\1/' <<<"$seed_line")"
        connection_id="$(sed -E 's/.*"connectionId":"([^"]+)".*/\1/' <<<"$seed_line")"
        [[ "$api_key" =~ ^[A-Za-z0-9]+$ && "$company_id" =~ ^[0-9a-f-]{36}$ && "$connection_id" =~ ^[0-9a-f-]{36}$ ]] ||
            die "unexpected seed output: $seed_line"
        AUTH="$(printf '%s' "$api_key" | base64 | tr -d '\n')"
        deep="${DEEP_PAGE:-$(((size + PAGE_SIZE - 1) / PAGE_SIZE))}"
        connection_path="/companies/$company_id/connections/$connection_id"

        start_linkwell "$url" "$WORK/linkwell-$backend-$size.log" LINKWELL_LOG=warn
        measure "$backend" "$size" "GET /companies/{c}/connections/{x}" "$connection_path"
        pages=(1)
        if [[ "$deep" != 1 ]]; then pages+=("$deep"); fi
        for page in "${pages[@]}"; do
            listing="/companies?page=$page&pageSize=$PAGE_SIZE"
            measure "$backend" "$size" "GET $listing" "$listing"
            if [[ "$UNCACHED" == 1 && "$backend" == sqlite ]]; then
                # Every request bypasses the listing cache: the database renders each response.
                measure "$backend" "$size" "GET $listing" "$listing" "Cache-Control: no-cache"
            fi
        done
        stop "$LINKWELL_PID"

        if [[ "$LOG_VARIANT" == 1 && "$size" == "$LARGEST" ]]; then
            # Default filter (info): one line per request, written to a file as a deployment would.
            log "== $backend, $size companies: default logging"
            start_linkwell "$url" "$WORK/linkwell-$backend-$size-info.log" -u LINKWELL_LOG
            measure "$backend (LINKWELL_LOG=info)" "$size" "GET /companies/{c}/connections/{x}" "$connection_path"
            stop "$LINKWELL_PID"
        fi
        if [[ "$backend" == sqlite ]]; then
            rm -f "$WORK/linkwell-$size.db" "$WORK/linkwell-$size.db-wal" "$WORK/linkwell-$size.db-shm"
        fi
    done
done

# ----------------------------------------------------------------------------------------------------- report
commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]]; then commit="$commit (with uncommitted changes)"; fi
cpu="$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)"
report="$WORK/report.md"
{
    echo "# linkwell read-path benchmark"
    echo
    echo "Started $STARTED, commit $commit; $(nproc) CPU(s) ($cpu); $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2)."
    echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency on loopback; $ROUNDS alternating rounds per target after a"
    echo "$WARMUP warm-up; medians of requests/s and of p99. linkwell runs with LINKWELL_LOG=warn unless the backend"
    echo "column says otherwise. \"bare\" is \`bare-server\` answering the same body from memory. ⚠ = some"
    echo "non-2xx responses or socket errors (see the details)."
    echo
    echo "| backend | companies | endpoint | linkwell req/s | bare req/s | ratio | linkwell p99 | bare p99 |"
    echo "|---|---:|---|---:|---:|---:|---:|---:|"
    printf '%s\n' "${ROWS[@]}"
    if ((${#GOALS[@]} > 0)); then
        echo
        echo "Goal on SQLite: ratio ≥ 0.60 and linkwell p99 < 5 ms at $CONNECTIONS connections."
        echo
        printf '%s\n' "${GOALS[@]}"
    fi
    echo
    echo "<details><summary>Rounds</summary>"
    echo
    printf '%s\n' "${DETAILS[@]}"
    echo
    echo "wrk's full output: bench/results/$STAMP-raw/."
    echo "</details>"
} >"$report"
cp "$report" "$RESULTS/latest.md"
cp "$report" "$RESULTS/$STAMP.md"
cat "$report"
