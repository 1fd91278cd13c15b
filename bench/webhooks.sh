#!/usr/bin/env bash
# Webhook delivery benchmark: N company.created events to C consumers on loopback, on SQLite and PostgreSQL;
# deliveries/s and commit-to-delivery latency, medians of several rounds. See bench/README.md.
#
# Environment (all optional):
#   BENCH_BACKENDS   "sqlite postgres"   backends to run (space- or comma-separated)
#   BENCH_MODES      "concurrent drain"  concurrent: the dispatcher runs while the writers create the events (the
#                                        issue's scenario); drain: the writers first, then the dispatcher alone
#   BENCH_ROUNDS     3                   runs per backend and mode (they alternate); medians reported
#   BENCH_EVENTS     10000               companies created, one company.created event each
#   BENCH_CONSUMERS  10                  consumers subscribed to company.created
#   BENCH_WRITERS    4                   concurrent writer tasks creating the companies
#   BENCH_DISPATCHERS 1                  dispatchers in the process (linkwell serve runs one)
#   BENCH_RATE       0                   companies/s over all writers; 0 = as fast as the writers go
#   BENCH_TIMEOUT    600                 seconds to wait for every delivery before a run fails
#   BENCH_SKIP_BUILD 0                   1: use the release binary already built
#   BENCH_PG_SERVER  postgres://postgres@127.0.0.1:5432   PostgreSQL server (trust authentication)
#   BENCH_PG_DB      linkwell_webhook_bench               database created and dropped by every run
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
BACKENDS="${BACKENDS//,/ }"
MODES="${BENCH_MODES:-concurrent drain}"
MODES="${MODES//,/ }"
ROUNDS="${BENCH_ROUNDS:-3}"
EVENTS="${BENCH_EVENTS:-10000}"
CONSUMERS="${BENCH_CONSUMERS:-10}"
WRITERS="${BENCH_WRITERS:-4}"
DISPATCHERS="${BENCH_DISPATCHERS:-1}"
RATE="${BENCH_RATE:-0}"
TIMEOUT="${BENCH_TIMEOUT:-600}"
PG_SERVER="${BENCH_PG_SERVER:-postgres://postgres@127.0.0.1:5432}"
PG_DB="${BENCH_PG_DB:-linkwell_webhook_bench}"
RESULTS="$ROOT/bench/results"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/webhook-bench"

BENCH_TAG=webhooks
# shellcheck source=bench/common.sh
source "$ROOT/bench/common.sh"

require_whole "BENCH_ROUNDS, BENCH_EVENTS, BENCH_CONSUMERS, BENCH_WRITERS and BENCH_DISPATCHERS" \
    "$ROUNDS" "$EVENTS" "$CONSUMERS" "$WRITERS" "$DISPATCHERS"
for mode in $MODES; do
    case "$mode" in concurrent | drain) ;; *) die "BENCH_MODES: '$mode' is neither concurrent nor drain" ;; esac
done
[[ "$RATE" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "BENCH_RATE must be a number of companies per second (0: unpaced)"
# shellcheck disable=SC2086 # one backend per word
require_backends $BACKENDS
require_loopback_server "$PG_SERVER"

# ---------------------------------------------------------------------------------------------- processes
trap stop_started EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_jq
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    log "building webhook-bench (release)"
    (cd "$ROOT" && cargo build --release -p linkwell-bench-tools --bin webhook-bench >&2)
fi
[[ -x "$BIN" ]] || die "$BIN is missing (cargo build --release -p linkwell-bench-tools)"

mkdir -p "$RESULTS"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RAW="$RESULTS/webhooks-$STAMP-raw"
mkdir -p "$RAW"

# --------------------------------------------------------------------------------------------------- runs
STARTED="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
for ((round = 1; round <= ROUNDS; round++)); do
    for mode in $MODES; do
        for backend in $BACKENDS; do
            log "== $backend, $mode, round $round of $ROUNDS: $EVENTS events x $CONSUMERS consumers, $WRITERS writers"
            name="$backend-$mode-round$round"
            "$BIN" --backend "$backend" --mode "$mode" --events "$EVENTS" --consumers "$CONSUMERS" \
                --writers "$WRITERS" --dispatchers "$DISPATCHERS" --rate "$RATE" --timeout "$TIMEOUT" \
                --label "round$round" --postgres-server "$PG_SERVER" --postgres-database "$PG_DB" \
                >"$RAW/$name.json" 2>"$RAW/$name.log" &
            pid=$!
            PIDS+=("$pid")
            if ! wait "$pid"; then
                tail -n 20 "$RAW/$name.log" >&2
                die "webhook-bench failed: $backend, $mode, round $round (see $RAW/$name.log)"
            fi
            PIDS=()
            grep '^webhook-bench: [0-9]' "$RAW/$name.log" | sed 's/^webhook-bench: /  /' >&2 || true
        done
    done
done

# ------------------------------------------------------------------------------------------------- report
# Median of one numeric field over the rounds of "$1" (backend-mode); the lower middle for an even count.
median() { jq -s "[.[] | $2] | sort | .[((length - 1) / 2 | floor)]" "$RAW/$1"-round*.json; }
sum() { jq -s "[.[] | $2] | add" "$RAW/$1"-round*.json; }
rounds_of() { jq -s -r "[.[] | $2 | tostring] | join(\", \")" "$RAW/$1"-round*.json; }

ROWS=()
GOALS=()
DETAILS=()
for mode in $MODES; do
    for backend in $BACKENDS; do
        runs="$backend-$mode"
        dps="$(median "$runs" .deliveriesPerSecond)"
        cps="$(median "$runs" .companiesPerSecond)"
        duplicates="$(sum "$runs" .duplicates)"
        missing="$(sum "$runs" .missing)"
        checked="$(sum "$runs" .signatures.checked)"
        bad="$(sum "$runs" '(.signatures.failed + .webhookIdMismatches)')"
        not_ok="$(jq -s '[.[] | select(.ok | not)] | length' "$RAW/$runs"-round*.json)"
        check="✅"
        ((not_ok > 0)) && check="❌ ($not_ok round(s))"
        if [[ "$mode" == concurrent ]]; then
            p50="$(median "$runs" .latencyMs.p50)"
            p99="$(median "$runs" .latencyMs.p99)"
            max="$(median "$runs" .latencyMs.max)"
            backlog="$(median "$runs" .backlogAtLastCommit)"
            latency="$(printf '%.0f ms | %.0f ms | %.0f ms | %s' "$p50" "$p99" "$max" "$backlog")"
            GOALS+=("$(awk -v d="$dps" -v p="$p99" -v b="$backend" 'BEGIN {
                ok = (d >= 2000 && p < 1000)
                printf "- %s %s: %.0f deliveries/s %s 2,000, p99 %.0f ms %s 1 s", (ok ? "✅" : "❌"), b, d, (d >= 2000 ? "≥" : "<"), p, (p < 1000 ? "<" : "≥")
            }')")
        else
            latency="— | — | — | —"
        fi
        ROWS+=("$(printf '| %s | %s | %.0f | %s | %.0f | %s / %s | %s / %s | %s |' \
            "$backend" "$mode" "$dps" "$latency" "$cps" "$duplicates" "$missing" "$checked" "$bad" "$check")")
        DETAILS+=("- $backend, $mode: deliveries/s $(rounds_of "$runs" .deliveriesPerSecond); p50 ms $(rounds_of "$runs" .latencyMs.p50); p99 ms $(rounds_of "$runs" .latencyMs.p99); writers' companies/s $(rounds_of "$runs" .companiesPerSecond); backlog at the last commit $(rounds_of "$runs" .backlogAtLastCommit); attempts $(rounds_of "$runs" .outbox.attempts) (failed $(rounds_of "$runs" .outbox.failedAttempts)); process CPU s $(rounds_of "$runs" .processCpuSeconds); load average before $(rounds_of "$runs" .loadAverage.before)")
    done
done

commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]]; then commit="$commit (with uncommitted changes)"; fi
cpu="$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)"
pace="as fast as they go"
[[ "$RATE" != 0 ]] && pace="paced at $RATE companies/s in total"
report="$RAW/report.md"
{
    echo "# linkwell webhook delivery benchmark"
    echo
    echo "Started $STARTED, commit $commit; $(nproc) CPU(s) ($cpu); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "$EVENTS company.created events to $CONSUMERS consumers ($((EVENTS * CONSUMERS)) deliveries) on loopback."
    echo "$WRITERS writers create the companies $pace; $DISPATCHERS dispatcher(s) with the default configuration; the"
    echo "receiver runs in the same process. Medians of $ROUNDS rounds (duplicates, missing, signatures: totals)."
    echo "concurrent: deliveries/s from the first commit to the last delivery, latency = receive − commit. drain: every"
    echo "event committed first, deliveries/s from the dispatcher's start (its throughput alone); no latency."
    echo
    echo "| backend | mode | deliveries/s | p50 | p99 | max | backlog at last commit | writers' companies/s | duplicates / missing | signatures checked / bad | all checks |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    if ((${#GOALS[@]} > 0)); then
        echo "Goal (from the issue), concurrent rows: at least 2,000 deliveries/s and p99 under 1 s."
        echo
        printf '%s\n' "${GOALS[@]}"
    fi
    echo
    echo "<details><summary>Rounds</summary>"
    echo
    printf '%s\n' "${DETAILS[@]}"
    echo
    echo "Every run's JSON line and log: bench/results/webhooks-$STAMP-raw/."
    echo "</details>"
} >"$report"
cp "$report" "$RESULTS/webhooks-latest.md"
cp "$report" "$RESULTS/webhooks-$STAMP.md"
cat "$report"
