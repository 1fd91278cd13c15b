#!/usr/bin/env bash
# Data pull benchmark: a full pull of the sandbox organisation bench-N (N invoices) through a running
# `linkwell serve`, next to a plain bulk insert of the same rows into the same database; an incremental pull
# after 1% changed; page 1 against a deep page. On SQLite and PostgreSQL. See bench/README.md.
#
# Environment (all optional):
#   BENCH_BACKENDS   "sqlite postgres"   backends to run (space- or comma-separated)
#   BENCH_RECORDS    1000000             invoices in the organisation (bench-N)
#   BENCH_ROUNDS     3                   rounds per backend; medians reported
#   BENCH_READS      300                 requests per page in the read measurement
#   BENCH_DEEP_PAGE  1000                the deep page (100 records a page)
#   BENCH_SKIP_BUILD 0                   1: use the release binaries already built
#   BENCH_PORT       18191               linkwell's loopback port (the sandbox takes the next one)
#   BENCH_PG_SERVER  postgres://postgres@127.0.0.1:5432   PostgreSQL server (trust authentication)
#   BENCH_PG_DB      linkwell_pull_bench                  database created and dropped by every backend run
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
BACKENDS="${BACKENDS//,/ }"
RECORDS="${BENCH_RECORDS:-1000000}"
ROUNDS="${BENCH_ROUNDS:-3}"
READS="${BENCH_READS:-300}"
DEEP_PAGE="${BENCH_DEEP_PAGE:-1000}"
PORT="${BENCH_PORT:-18191}"
SANDBOX_PORT=$((PORT + 1))
PG_SERVER="${BENCH_PG_SERVER:-postgres://postgres@127.0.0.1:5432}"
PG_DB="${BENCH_PG_DB:-linkwell_pull_bench}"
RESULTS="$ROOT/bench/results"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/release"
SECRET="pull-bench-sandbox-secret"
KEY="AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

BENCH_TAG=pulls
# shellcheck source=bench/common.sh
source "$ROOT/bench/common.sh"

require_whole "BENCH_RECORDS, BENCH_ROUNDS, BENCH_READS, BENCH_DEEP_PAGE and BENCH_PORT" \
    "$RECORDS" "$ROUNDS" "$READS" "$DEEP_PAGE" "$PORT"
((RECORDS <= 10000000)) || die "BENCH_RECORDS: the sandbox makes bench-N for N up to 10,000,000"
((DEEP_PAGE * 100 <= RECORDS)) || die "BENCH_DEEP_PAGE: page $DEEP_PAGE of 100 records is past the last record"
# shellcheck disable=SC2086 # one backend per word
require_backends $BACKENDS
require_loopback_server "$PG_SERVER"

# ---------------------------------------------------------------------------------------------- processes
WORK=""
cleanup() {
    stop_started
    [[ -n "$WORK" && -d "$WORK" ]] && rm -rf "$WORK"
    WORK=""
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_jq
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    log "building linkwell and pull-bench (release)"
    (cd "$ROOT" && cargo build --release -p linkwell -p linkwell-bench-tools --bin linkwell --bin pull-bench >&2)
fi
for bin in linkwell pull-bench; do
    [[ -x "$TARGET/$bin" ]] || die "$TARGET/$bin is missing (cargo build --release)"
done

wait_port() {
    local port="$1" name="$2" log_file="$3"
    for _ in $(seq 1 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.1
    done
    tail -n 20 "$log_file" >&2
    die "$name did not listen on 127.0.0.1:$port"
}

mkdir -p "$RESULTS"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RAW="$RESULTS/pulls-$STAMP-raw"
mkdir -p "$RAW"
STARTED="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

# --------------------------------------------------------------------------------------------------- runs
for backend in $BACKENDS; do
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/linkwell-pull-bench.XXXXXX")"
    if [[ "$backend" == sqlite ]]; then
        DATABASE="sqlite://$WORK/linkwell.db?mode=rwc"
    else
        psql "$PG_SERVER/postgres" -qAt -c "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB" >&2
        DATABASE="$PG_SERVER/$PG_DB"
    fi
    export LINKWELL_DATABASE_URL="$DATABASE" LINKWELL_ENCRYPTION_KEY="$KEY" LINKWELL_LOG=warn
    key="$("$TARGET/linkwell" keys create --client pull-bench --name pull-bench)"
    LINKWELL_SANDBOX_LISTEN="127.0.0.1:$SANDBOX_PORT" LINKWELL_SANDBOX_CLIENT_SECRET="$SECRET" \
        LINKWELL_PUBLIC_URL="http://127.0.0.1:$PORT" \
        "$TARGET/linkwell" sandbox >"$WORK/sandbox.log" 2>&1 &
    PIDS+=("$!")
    wait_port "$SANDBOX_PORT" "linkwell sandbox" "$WORK/sandbox.log"
    LINKWELL_LISTEN="127.0.0.1:$PORT" LINKWELL_PUBLIC_URL="http://127.0.0.1:$PORT" LINKWELL_SANDBOX=false \
        LINKWELL_SANDBOX_URL="http://127.0.0.1:$SANDBOX_PORT/sandbox" LINKWELL_SANDBOX_CLIENT_SECRET="$SECRET" \
        LINKWELL_WEBHOOKS_ALLOW_PRIVATE=true \
        "$TARGET/linkwell" serve >"$WORK/server.log" 2>&1 &
    server=$!
    PIDS+=("$server")
    wait_port "$PORT" "linkwell serve" "$WORK/server.log"
    log "== $backend: $ROUNDS round(s) of a full pull of bench-$RECORDS"
    if ! "$TARGET/pull-bench" --base "http://127.0.0.1:$PORT" --key "$key" \
        --sandbox "http://127.0.0.1:$SANDBOX_PORT/sandbox" --database "$DATABASE" --server-pid "$server" \
        --records "$RECORDS" --rounds "$ROUNDS" --reads "$READS" --deep-page "$DEEP_PAGE" \
        >"$RAW/$backend.json" 2> >(tee "$RAW/$backend.log" >&2); then
        tail -n 20 "$WORK/server.log" >&2
        die "pull-bench failed on $backend (see $RAW/$backend.log)"
    fi
    cp "$WORK/server.log" "$RAW/$backend-server.log"
    cleanup
    if [[ "$backend" == postgres ]]; then
        psql "$PG_SERVER/postgres" -qAt -c "DROP DATABASE IF EXISTS $PG_DB" >&2
    fi
done

# ------------------------------------------------------------------------------------------------- report
# Median of one field over the rounds of a backend; the lower middle for an even count.
median() { jq -s "[.[] | $2] | sort | .[((length - 1) / 2 | floor)]" "$RAW/$1.json"; }
rounds_of() { jq -s -r "[.[] | $2 | . * 100 | round / 100 | tostring] | join(\", \")" "$RAW/$1.json"; }
fmt() { printf "%.${2:-0}f" "$1"; }

{
    echo "# Data pulls, $STARTED"
    echo
    echo "bench-$RECORDS invoices, $ROUNDS round(s) per backend, medians. Page reads: 100 records a page, $READS requests each."
    echo
    echo "| backend | full pull rec/s | plain insert rows/s | ratio | peak memory | incremental (1%) | share of full | page 1 | page $DEEP_PAGE | deep ÷ first |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for backend in $BACKENDS; do
        echo "| $backend | $(fmt "$(median "$backend" .full_records_per_second)") | $(fmt "$(median "$backend" .plain_rows_per_second)") | $(fmt "$(median "$backend" .ratio)" 2) | $(fmt "$(median "$backend" .peak_mib)") MiB | $(fmt "$(median "$backend" .incremental_seconds)" 2) s | $(fmt "$(median "$backend" '.incremental_share * 100')" 2)% | $(fmt "$(median "$backend" .page1_median_ms)" 2) ms | $(fmt "$(median "$backend" .deep_median_ms)" 2) ms | $(fmt "$(median "$backend" .deep_ratio)" 2) |"
    done
    echo
    echo "Goals: ratio ≥ 0.5, peak memory < 200 MiB, incremental < 5% of the full pull, deep page within 2× of page 1."
    echo
    echo "## Rounds"
    for backend in $BACKENDS; do
        echo "- $backend: full pull rec/s $(rounds_of "$backend" .full_records_per_second); plain rows/s $(rounds_of "$backend" .plain_rows_per_second); ratio $(rounds_of "$backend" .ratio); incremental share $(rounds_of "$backend" '.incremental_share * 100') %"
    done
} | tee "$RESULTS/pulls-$STAMP.md" >"$RESULTS/pulls-latest.md"
cat "$RESULTS/pulls-latest.md"
