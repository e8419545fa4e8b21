#!/usr/bin/env bash
# The benchmark: builds the server in Release, starts it on a free loopback port with a throwaway data
# folder, seeds one tenant through the REST API, and measures six scenarios with wrk. With
# --peer parse-server it does the same, in the same run, for parse-server on PostgreSQL 15 and prints the
# ratios. With scenario (a) it also measures the floor (bench/floor: bare Kestrel answering a fixed deal answer)
# under the same wrk load and prints (a) / floor. See bench/README.md.
#
#   bash bench/run.sh [--scale N | --deals N] [--duration S] [--warmup S] [--connections N] [--peer parse-server]
#                     [--only a,b,...] [--out FILE] [--keep]
#   bash bench/run.sh --smoke        # CI: 1 s per scenario, our server only, 100 deals
#   bash bench/run.sh --livequery [--clients N] [--users N] [--rate W] [--duration S] [--peer parse-server]
#   bash bench/run.sh --flex [--minutes N] [--interval S] [--peer parse-server]   # runtime class, mixed load
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench="$root/bench"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

ORIGINAL_ARGS="$*"
scale=1 duration=15 warmup=5 connections=32 peer="" smoke=0 keep=0 out="" only="a,b,c,d,e,f" deals=""
livequery=0 lq_clients=2000 lq_users=50 lq_rate=200
flex=0 flex_minutes=6 flex_interval=60
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale="$2"; shift 2 ;;
    --deals) deals="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --peer) peer="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --smoke) smoke=1; shift ;;
    --livequery) livequery=1; shift ;;
    --clients) lq_clients="$2"; shift 2 ;;
    --users) lq_users="$2"; shift 2 ;;
    --rate) lq_rate="$2"; shift 2 ;;
    --flex) flex=1; shift ;;
    --minutes) flex_minutes="$2"; shift 2 ;;
    --interval) flex_interval="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
# Smoke: few connections, so that even a bcrypt log-in completes within the second on a busy machine.
if [ "$smoke" = 1 ]; then duration=1 warmup=1 deals=100 connections=4 peer=""; fi
[ -n "$deals" ] || deals=$((10000 * scale))
case "$peer" in ""|parse-server) ;; *) echo "run.sh: --peer accepts only parse-server" >&2; exit 2 ;; esac
case "$duration$warmup$connections$deals$flex_minutes$flex_interval" in *[!0-9]*) echo "run.sh: numbers expected" >&2; exit 2 ;; esac

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'run.sh: FAILED: %s\n' "$*" >&2; exit 1; }

# ---- tools ---------------------------------------------------------------------------------------------
apt_install() {
  if [ "$(id -u)" = 0 ]; then apt_get="apt-get"; else apt_get="sudo apt-get"; fi
  log "installing $* (Debian packages)"
  $apt_get update -qq && DEBIAN_FRONTEND=noninteractive $apt_get install -y -qq "$@" >/dev/null
}
command -v wrk >/dev/null || apt_install wrk
command -v node >/dev/null || apt_install nodejs npm
command -v dotnet >/dev/null || die "dotnet is required"
if [ "$smoke" = 0 ]; then command -v sqlite3 >/dev/null || apt_install sqlite3; fi
pg_bin=""
if [ "$peer" = parse-server ]; then
  pg_bin="$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)"
  [ -x "$pg_bin/initdb" ] || { apt_install postgresql-15; pg_bin=/usr/lib/postgresql/15/bin; }
  # npm ci (exactly the lock file) unless node_modules already holds what the lock file names (optional
  # packages for other platforms and extraneous entries aside).
  if ! node -e '
    const lock = require(process.argv[1] + "/package-lock.json").packages;
    const have = require(process.argv[1] + "/node_modules/.package-lock.json").packages;
    const ok = Object.entries(lock).every(([k, v]) => k === "" || v.optional || v.extraneous || (have[k] && have[k].version === v.version));
    process.exit(ok ? 0 : 1);' "$bench/peer" 2>/dev/null; then
    log "npm ci in bench/peer (parse-server, pinned)"
    npm ci --prefix "$bench/peer" --no-audit --no-fund --loglevel=error >/dev/null
  fi
fi

# ---- workspace and clean shutdown ----------------------------------------------------------------------
work="$(mktemp -d /tmp/crm-bench.XXXXXX)"
server_pid="" pg_data="" pg_user=""
stop_pid() { # pid: SIGTERM, up to 15 s, then SIGKILL
  local pid="$1" i
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
stop_postgres() {
  [ -n "$pg_data" ] || return 0
  as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  pg_data=""
}
cleanup() {
  local status=$?
  [ -n "$server_pid" ] && stop_pid "$server_pid"
  server_pid=""
  stop_postgres
  if [ "$keep" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}
wait_http() { # url, seconds
  local i
  for i in $(seq 1 $(($2 * 5))); do
    if [ -n "$server_pid" ] && ! kill -0 "$server_pid" 2>/dev/null; then return 1; fi
    curl -fsS -o /dev/null -H 'X-Parse-Application-Id: crm' "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}
command -v curl >/dev/null || apt_install curl

# ---- measurement helpers -------------------------------------------------------------------------------
clk_tck="$(getconf CLK_TCK)"
cpu_ticks() { # utime+stime of the pids given (+ reaped children's, for the PostgreSQL postmaster)
  local total=0 pid stat
  for pid in "$@"; do
    stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || continue
    stat="${stat##*) }" # fields after the command name; utime is field 14 overall, 12 here
    # shellcheck disable=SC2086
    set -- $stat
    total=$((total + ${12} + ${13} + ${14} + ${15}))
  done
  echo "$total"
}
tree_pids() { # a pid and its live descendants
  local pid="$1" child
  echo "$pid"
  for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do tree_pids "$child"; done
}
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
reset_hwm() { echo 5 > "/proc/$1/clear_refs" 2>/dev/null || true; }
to_ms() { # wrk latency text (123.45us / 1.23ms / 1.02s / 1.00m) -> milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

scenario_script() {
  case "$1" in a) echo get ;; b) echo pipeline ;; c) echo activities ;; d) echo create ;; e) echo update ;; f) echo login ;; esac
}
scenario_name() {
  case "$1" in
    a) echo "(a) GET /classes/Deal/:id" ;; b) echo "(b) pipeline query" ;; c) echo "(c) activities of a deal" ;;
    d) echo "(d) POST /classes/Deal" ;; e) echo "(e) PUT /classes/Deal/:id" ;; f) echo "(f) POST /login" ;;
  esac
}

# run_scenarios LABEL PORT SERVER_PID [DB_PID]: one line per scenario into $work/LABEL.results
run_scenarios() {
  local label="$1" port="$2" pid="$3" db_pid="${4:-}" key script url t0 t1 c0 c1 d0 d1 wall output rps requests p50 p99 non2xx hwm cpu dbcpu cpureq
  : > "$work/$label.results"
  for key in ${only//,/ }; do
    script="$bench/wrk/$(scenario_script "$key").lua"
    [ -f "$script" ] || die "no scenario $key"
    url="http://127.0.0.1:$port"
    log "$label $(scenario_name "$key"): warm-up ${warmup}s"
    output="$(wrk -t1 -c"$connections" -d"${warmup}s" --timeout 30s --latency -s "$script" "$url" -- "$work/$label/data.lua")"
    check_wrk "$label" "$key (warm-up)" "$output" warm-up
    reset_hwm "$pid"
    c0="$(cpu_ticks "$pid")"; d0=0
    [ -n "$db_pid" ] && d0="$(cpu_ticks $(tree_pids "$db_pid"))"
    t0="$(date +%s%N)"
    log "$label $(scenario_name "$key"): ${duration}s"
    output="$(wrk -t1 -c"$connections" -d"${duration}s" --timeout 30s --latency -s "$script" "$url" -- "$work/$label/data.lua")"
    t1="$(date +%s%N)"
    c1="$(cpu_ticks "$pid")"; d1=0
    [ -n "$db_pid" ] && d1="$(cpu_ticks $(tree_pids "$db_pid"))"
    echo "$output" > "$work/$label.$key.wrk.txt"
    check_wrk "$label" "$key" "$output"
    wall=$(( (t1 - t0) / 1000000 ))
    rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$output")"
    requests="$(awk '/requests in/ {print $1}' <<<"$output")"
    p50="$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$output")")"
    p99="$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$output")")"
    non2xx="$(awk -F': *' '/Non-2xx or 3xx responses/ {print $2}' <<<"$output")"
    hwm="$(hwm_kb "$pid")"
    cpu="$(awk -v t=$((c1 - c0)) -v hz="$clk_tck" -v ms="$wall" 'BEGIN { printf "%.0f", t / hz / (ms / 1000) * 100 }')"
    dbcpu="$(awk -v t=$((d1 - d0)) -v hz="$clk_tck" -v ms="$wall" 'BEGIN { printf "%.0f", t / hz / (ms / 1000) * 100 }')"
    # CPU time per answered request (server, plus PostgreSQL for the peer): steadier than req/s on a shared machine.
    cpureq="$(awk -v t=$((c1 - c0 + d1 - d0)) -v hz="$clk_tck" -v n="$requests" 'BEGIN { printf "%.3f", t / hz * 1000 / n }')"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$key" "$rps" "$p50" "$p99" "${non2xx:-0}" "$cpu" "$((hwm / 1024))" "$dbcpu" "$cpureq" >> "$work/$label.results"
  done
}

check_wrk() { # label, scenario, wrk output [warm-up]: any non-2xx answer or socket error fails the run
  local non2xx sockerr requests
  non2xx="$(awk -F': *' '/Non-2xx or 3xx responses/ {print $2}' <<<"$3")"
  sockerr="$(grep -E '^ *Socket errors' <<<"$3" || true)"
  requests="$(awk '/requests in/ {print $1}' <<<"$3")"
  if [ -n "$non2xx" ] && [ "$non2xx" != 0 ]; then
    echo "$3" >&2
    die "$1 scenario $2: $non2xx non-2xx answers"
  fi
  if [ -n "$sockerr" ]; then
    echo "$3" >&2
    die "$1 scenario $2: $sockerr"
  fi
  # A warm-up may end before the first slow answer (log-ins on a busy machine); a measured run may not.
  [ "${4:-}" = warm-up ] || [ "${requests:-0}" -gt 0 ] || { echo "$3" >&2; die "$1 scenario $2: no request completed"; }
}

load_line() { echo "load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"; }

# ---- the server under test ------------------------------------------------------------------------------
run_ours() {
  log "building Crm.Functions (Release)"
  dotnet build "$root/Crm.Functions/Crm.Functions.csproj" -c Release -nologo -v q -clp:ErrorsOnly >&2
  local bin="$root/Crm.Functions/bin/Release/net10.0" port master
  [ -f "$bin/Crm.Functions.dll" ] || die "no build output in $bin"
  port="$(free_port)"
  master="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  mkdir -p "$work/ours/data"
  log "starting Crm.Functions on 127.0.0.1:$port (data in $work/ours/data)"
  (
    cd "$bin"
    # The login/sign-up rate limit (60 per client address per minute by default) is switched off: the
    # login scenario sends hundreds of log-ins per second from one address. bcrypt cost stays 10.
    # The CRM template is off: both servers get the same classes, CLPs, indexes and ACLs from the seed
    # script, through the same public API, and run no server-side rules the peer lacks.
    # Its 32 log-ins at once from that one address also queue for the caller's two password-hashing slots
    # (Parse:Limits:MaxExpensivePerCaller): on a busy machine a queue of 30 × 60 ms outlasts the 2 s such a wait may
    # take (answered 429), so the wait is raised to wrk's own timeout. Slots and bcrypt cost stay as deployed.
    # The LiveQuery load opens all its sockets from one address, 2,000 by default over 50 users: the per-address
    # and per-user connection caps (200 and 20, made for real clients) are raised to what the load needs.
    exec env ASPNETCORE_ENVIRONMENT=Production Parse__MasterKey="$master" Parse__DataFolder="$work/ours/data" \
      Parse__Accounts__AuthRequestsPerMinute=0 Parse__Accounts__BcryptCost=10 Parse__Limits__ExpensiveWaitMilliseconds=30000 \
      Crm__ApplyTemplate=false LiveQuery__MaxConnectionsPerIp="$((lq_clients + 100))" LiveQuery__MaxConnectionsPerUser="$((lq_clients / lq_users + 10))" \
      dotnet Crm.Functions.dll --urls "http://127.0.0.1:$port"
  ) > "$work/ours/server.log" 2>&1 &
  server_pid=$!
  wait_http "http://127.0.0.1:$port/parse/health" 60 || { cat "$work/ours/server.log" >&2; die "Crm.Functions did not start"; }
  if [ "$livequery" = 1 ]; then run_livequery ours "$port" "$master" "$server_pid"; stop_pid "$server_pid"; server_pid=""; return; fi
  if [ "$flex" = 1 ]; then run_flex ours "$port" "$master" "$work/ours/data" "$server_pid"; stop_pid "$server_pid"; server_pid=""; return; fi
  echo "ours: $(load_line) before seeding" >> "$work/load.txt"
  log "seeding $deals deals through /batch"
  node "$bench/seed.mjs" --url "http://127.0.0.1:$port/parse" --master-key "$master" --deals "$deals" --out "$work/ours" > "$work/ours.seed.json" \
    || { tail -n 50 "$work/ours/server.log" >&2; die "seeding Crm.Functions failed"; }
  echo "ours seed peak RSS $(( $(hwm_kb "$server_pid") / 1024 )) MB" >> "$work/load.txt"
  # The store's size on disk (the SQLite file with its WAL), for the growth table of --scale runs.
  echo "ours data folder after seeding: $(du -sm "$work/ours/data" | cut -f1) MB" >> "$work/load.txt"
  capture_deal_answer "$port"
  echo "ours: $(load_line) before measuring" >> "$work/load.txt"
  run_scenarios ours "$port" "$server_pid"
  echo "ours: $(load_line) after measuring" >> "$work/load.txt"
  stop_pid "$server_pid"; server_pid=""
  if grep -q -E '(fail|crit):' "$work/ours/server.log"; then
    grep -E -A5 '(fail|crit):' "$work/ours/server.log" | head -n 40 >&2
    die "Crm.Functions logged errors during the run"
  fi
}

# ---- the floor: bare Kestrel answering one of our deal answers, byte for byte (bench/floor) -------------------
capture_deal_answer() { # port: the answer scenario (a) gets for its first deal, the floor's fixed body
  local data="$work/ours/data.lua" token deal
  token="$(sed -n 's/^ *token = "\([^"]*\)".*/\1/p' "$data")"
  deal="$(sed -n 's/^ *deals = { "\([^"]*\)".*/\1/p' "$data")"
  mkdir -p "$work/floor"
  curl -fsS -o "$work/floor/deal.json" -H 'X-Parse-Application-Id: crm' -H "X-Parse-Session-Token: $token" \
    "http://127.0.0.1:$1/parse/classes/Deal/$deal" || die "could not read deal $deal for the floor's body"
}
run_floor() {
  case ",$only," in *,a,*) ;; *) return 0 ;; esac
  [ -s "$work/floor/deal.json" ] || die "no deal answer captured for the floor"
  log "building bench/floor (Release)"
  dotnet build "$bench/floor/Floor.csproj" -c Release -nologo -v q -clp:ErrorsOnly >&2
  local port
  port="$(free_port)"
  log "starting the floor on 127.0.0.1:$port ($(wc -c < "$work/floor/deal.json") bytes per answer)"
  (cd "$bench/floor/bin/Release/net10.0" && exec env ASPNETCORE_ENVIRONMENT=Production \
    dotnet Floor.dll --body "$work/floor/deal.json" --urls "http://127.0.0.1:$port") > "$work/floor/server.log" 2>&1 &
  server_pid=$!
  wait_http "http://127.0.0.1:$port/parse/health" 30 || { cat "$work/floor/server.log" >&2; die "the floor did not start"; }
  echo "floor: $(load_line) before measuring" >> "$work/load.txt"
  # The same wrk script, data file and settings as scenario (a); only the server differs.
  mkdir -p "$work/floor-run" && cp "$work/ours/data.lua" "$work/floor-run/data.lua"
  only=a run_scenarios floor-run "$port" "$server_pid"
  echo "floor: $(load_line) after measuring" >> "$work/load.txt"
  stop_pid "$server_pid"; server_pid=""
}

# ---- LiveQuery (--livequery): subscribed WebSocket clients across users, writes at a fixed rate ----------
run_livequery() { # name port master pid
  [ -d "$bench/livequery/node_modules" ] || (cd "$bench/livequery" && npm ci --no-audit --no-fund >/dev/null)
  log "$1: LiveQuery load: $lq_clients clients over $lq_users users, $lq_rate writes/s, ${warmup} s warm-up discarded, $duration s measured"
  URL="http://127.0.0.1:$2/parse" APP_ID=crm MASTER_KEY="$3" SERVER_PID="$4" CLIENTS="$lq_clients" USERS="$lq_users" \
    RATE="$lq_rate" SECONDS="$duration" WARMUP="$warmup" node "$bench/livequery/load.mjs" > "$work/$1.livequery.json" \
    || die "the LiveQuery load against $1 failed"
  echo "$1 $(cat "$work/$1.livequery.json")" >> "$work/livequery.txt"
}

# ---- flexible schema (--flex): a class created at run time, no declared index, 8 clients of mixed work -------
run_flex() { # name port master data-folder pid... (RSS is summed over the pids: parse-server + PostgreSQL's processes)
  local name="$1" port="$2" master="$3" data="$4"
  shift 4
  log "$name: flexible-schema load for $flex_minutes min (a line per ${flex_interval} s)"
  node "$bench/flex.mjs" --url "http://127.0.0.1:$port/parse" --master-key "$master" --seconds "$((flex_minutes * 60))" \
    --interval "$flex_interval" --data "$data" --pids "$(echo "$@" | tr ' ' ',')" | tee "$work/$name.flex.txt" >&2 \
    || die "the flexible-schema load against $name failed"
}

# ---- the peer: parse-server on PostgreSQL 15 ------------------------------------------------------------
as_pg() { if [ -n "$pg_user" ]; then runuser -u "$pg_user" -- "$@"; else "$@"; fi; }
run_peer() {
  local pg_port port master pg_pid
  mkdir -p "$work/peer"
  # initdb refuses to run as root: as root the cluster belongs to the postgres user.
  if [ "$(id -u)" = 0 ]; then pg_user=postgres; chown "$pg_user" "$work/peer"; chmod 755 "$work"; fi
  pg_port="$(free_port)"
  log "initdb + pg_ctl start (PostgreSQL 15) on 127.0.0.1:$pg_port"
  as_pg "$pg_bin/initdb" -D "$work/peer/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  pg_data="$work/peer/pg"
  # synchronous_commit=off: commits do not wait for the WAL flush, the durability of SQLite's WAL with
  # synchronous=NORMAL that the server under test uses. Everything else is PostgreSQL's default.
  as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$work/peer/pg.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$work/peer -c synchronous_commit=off" start >/dev/null
  pg_pid="$(head -n1 "$pg_data/postmaster.pid")"
  psql -h 127.0.0.1 -p "$pg_port" -U postgres -qAt -c 'CREATE DATABASE parse' >/dev/null
  port="$(free_port)"
  master="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  log "starting parse-server $(node -p "require('$bench/peer/node_modules/parse-server/package.json').version") on 127.0.0.1:$port"
  (
    cd "$bench/peer"
    exec env NODE_ENV=production PEER_PORT="$port" PEER_MASTER_KEY="$master" \
      PEER_DATABASE_URI="postgres://postgres@127.0.0.1:$pg_port/parse" node "$([ "$livequery" = 1 ] && echo livequery-server.js || echo server.js)"
  ) > "$work/peer/server.log" 2>&1 &
  server_pid=$!
  wait_http "http://127.0.0.1:$port/parse/health" 60 || { cat "$work/peer/server.log" >&2; die "parse-server did not start"; }
  if [ "$livequery" = 1 ]; then run_livequery peer "$port" "$master" "$server_pid"; stop_pid "$server_pid"; server_pid=""; stop_postgres; return; fi
  if [ "$flex" = 1 ]; then
    run_flex peer "$port" "$master" "$pg_data/base" "$server_pid" $(tree_pids "$pg_pid")
    stop_pid "$server_pid"; server_pid=""; stop_postgres; return
  fi
  echo "peer: $(load_line) before seeding" >> "$work/load.txt"
  log "seeding $deals deals through /batch"
  node "$bench/seed.mjs" --url "http://127.0.0.1:$port/parse" --master-key "$master" --deals "$deals" --out "$work/peer" > "$work/peer.seed.json" \
    || { tail -n 50 "$work/peer/server.log" >&2; die "seeding parse-server failed"; }
  echo "peer seed peak RSS $(( $(hwm_kb "$server_pid") / 1024 )) MB" >> "$work/load.txt"
  # Planner statistics now rather than whenever autovacuum gets to it (SQLite's planner needs none here).
  psql -h 127.0.0.1 -p "$pg_port" -U postgres -d parse -qAt -c 'ANALYZE' >/dev/null
  echo "peer: $(load_line) before measuring" >> "$work/load.txt"
  run_scenarios peer "$port" "$server_pid" "$pg_pid"
  echo "peer: $(load_line) after measuring" >> "$work/load.txt"
  stop_pid "$server_pid"; server_pid=""
  stop_postgres
}

# ---- the query plan of the pipeline query ---------------------------------------------------------------
explain_pipeline() {
  local db="$work/ours/data/crm.db"
  [ -f "$db" ] && command -v sqlite3 >/dev/null || return 0
  # The statement SqliteQueryTranslator emits for where={"stage":"proposal"}&order=expectedCloseDate&limit=50
  # with the caller's ACL restriction (values inlined here; the server binds them as parameters).
  sqlite3 "$db" > "$work/plan.txt" <<'SQL'
EXPLAIN QUERY PLAN SELECT t0.id, t0.owner_id, t0.created_at, t0.updated_at, t0.version, t0.acl, t0.data FROM "c_Deal" t0
WHERE ((json_type(t0.data, '$.stage') = 'text' AND json_extract(t0.data, '$.stage') = 'proposal')
  AND (t0.rperm IS NULL OR instr(t0.rperm, '"*"') > 0 OR instr(t0.rperm, '"u"') > 0))
ORDER BY json_extract(t0.data, '$.expectedCloseDate.iso') LIMIT 50 OFFSET 0;
SQL
}

# ---- report ---------------------------------------------------------------------------------------------
report() {
  local cpu_model
  cpu_model="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo
  echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC')  Machine: $(nproc) x $cpu_model"
  echo "Command: bash bench/run.sh $ORIGINAL_ARGS"
  echo "Data: $deals deals (scale $scale); wrk 1 thread, $connections connections, ${warmup}s warm-up discarded, ${duration}s measured"
  echo
  echo "Crm.Functions (SQLite), seed: $(cat "$work/ours.seed.json")"
  table ours
  if [ -f "$work/floor-run.results" ]; then
    echo
    echo "Floor: bare Kestrel (bench/floor) answering scenario (a)'s answer ($(wc -c < "$work/floor/deal.json") bytes), the same wrk load, measured right after ours"
    table floor-run
    join -t $'\t' <(grep '^a' "$work/ours.results") "$work/floor-run.results" |
      while IFS=$'\t' read -r _ rps _ _ _ _ _ _ cpureq frps _ _ _ _ _ _ fcpureq; do
        awk -v a="$rps" -v f="$frps" -v c="$cpureq" -v fc="$fcpureq" \
          'BEGIN { printf "Floor ratio: (a) %.0f req/s / floor %.0f req/s = %.1f %% (CPU ms/req %s vs %s)\n", a, f, 100 * a / f, c, fc }'
      done
  fi
  if [ -f "$work/peer.results" ]; then
    echo
    echo "parse-server 9.10.0 (PostgreSQL 15), seed: $(cat "$work/peer.seed.json")"
    table peer
    echo
    echo "| scenario | req/s ratio (ours / parse-server) | p99 ratio (parse-server / ours) | CPU per request ratio (parse-server+PostgreSQL / ours) |"
    echo "|---|---:|---:|---:|"
    join -t $'\t' <(sort "$work/ours.results") <(sort "$work/peer.results") | sort |
      while IFS=$'\t' read -r key rps p50 p99 _ _ _ _ cpureq prps _ pp99 _ _ _ _ pcpureq; do
        printf '| %s | %s | %s | %s |\n' "$(scenario_name "$key")" \
          "$(awk -v a="$rps" -v b="$prps" 'BEGIN { printf "%.1fx", a / b }')" \
          "$(awk -v a="$p99" -v b="$pp99" 'BEGIN { if (a > 0) printf "%.1fx", b / a; else print "-" }')" \
          "$(awk -v a="$cpureq" -v b="$pcpureq" 'BEGIN { if (a > 0) printf "%.1fx", b / a; else print "-" }')"
      done
  fi
  echo
  echo "Load:"
  sed 's/^/  /' "$work/load.txt"
  if [ -f "$work/plan.txt" ]; then
    echo
    echo "EXPLAIN QUERY PLAN of the pipeline query (Crm.Functions' SQLite file):"
    sed 's/^/  /' "$work/plan.txt"
  fi
}
table() {
  local label="$1"
  if [ "$label" = peer ]; then
    echo "| scenario | req/s | p50 ms | p99 ms | non-2xx | server CPU % | PostgreSQL CPU % | CPU ms/req (both) | peak RSS MB |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  else
    echo "| scenario | req/s | p50 ms | p99 ms | non-2xx | server CPU % | CPU ms/req | peak RSS MB |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  fi
  while IFS=$'\t' read -r key rps p50 p99 non2xx cpu rss dbcpu cpureq; do
    if [ "$label" = peer ]; then
      printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(scenario_name "$key")" "$rps" "$p50" "$p99" "$non2xx" "$cpu" "$dbcpu" "$cpureq" "$rss"
    else
      printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$([ "$label" = floor-run ] && echo "floor: the same GETs, fixed answer" || scenario_name "$key")" \
        "$rps" "$p50" "$p99" "$non2xx" "$cpu" "$cpureq" "$rss"
    fi
  done < "$work/$label.results"
}

: > "$work/load.txt"
if [ "$livequery" = 1 ]; then
  run_ours
  [ "$peer" = parse-server ] && run_peer
  { echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC')  Machine: $(nproc) x $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "Command: bash bench/run.sh $ORIGINAL_ARGS"
    echo "Load average before: $(cut -d' ' -f1-3 /proc/loadavg) (event latency = write start to event arrival; write = the REST write's own latency)"
    echo "| server | clients | users | writes/s | writes | write p50/p99 ms | events expected | events received | events/s | p50 ms | p99 ms | worst 1 s p99 ms | max ms | RSS connected MB | peak RSS MB |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    while read -r name json; do
      node -e 'const r = JSON.parse(process.argv[2]); console.log(`| ${process.argv[1]} | ${r.clients} | ${r.users} | ${r.rate} | ${r.writes} | ${r.writeP50Ms} / ${r.writeP99Ms} | ${r.eventsExpected} | ${r.eventsReceived} | ${r.eventsPerSecond} | ${r.p50Ms} | ${r.p99Ms} | ${r.worstSecondP99Ms} | ${r.maxMs} | ${r.rssConnectedMb} | ${r.rssPeakMb} |`)' \
        "$([ "$name" = ours ] && echo Crm.Functions || echo 'parse-server 9.10')" "$json"
    done < "$work/livequery.txt"
  } | if [ -n "$out" ]; then tee "$out"; else cat; fi
  exit 0
fi
if [ "$flex" = 1 ]; then
  run_ours
  [ "$peer" = parse-server ] && run_peer
  { echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC')  Machine: $(nproc) x $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "Command: bash bench/run.sh $ORIGINAL_ARGS"
    for name in ours peer; do
      [ -f "$work/$name.flex.txt" ] || continue
      echo
      echo "$([ "$name" = ours ] && echo 'Crm.Functions (SQLite)' || echo 'parse-server 9.10.0 (PostgreSQL 15)'):"
      grep -v '^RESULT ' "$work/$name.flex.txt" | sed 's/^/  /'
    done
    if [ -f "$work/peer.flex.txt" ]; then
      echo
      node -e '
        const [ours, peer] = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8").split("\n").find((l) => l.startsWith("RESULT ")).slice(7)).perInterval);
        console.log("| interval | ours req/s | parse-server req/s | ratio | ours CPU ms/req | parse-server+PostgreSQL CPU ms/req |");
        console.log("|---|---:|---:|---:|---:|---:|");
        ours.forEach((o, i) => { const p = peer[i]; console.log(`| ${i + 1} | ${o.rps} | ${p ? p.rps : "-"} | ${p ? (o.rps / p.rps).toFixed(1) + "x" : "-"} | ${o.cpuMsPerRequest} | ${p ? p.cpuMsPerRequest : "-"} |`); });
        const last = ours[ours.length - 1], second = ours[1];
        if (second) console.log(`ours: last interval ${(100 * last.rps / second.rps).toFixed(0)} % of the second; ${peer.length ? (last.rps / peer[peer.length - 1].rps).toFixed(1) + "x parse-server'"'"'s last" : ""}`);
      ' "$work/ours.flex.txt" "$work/peer.flex.txt"
    fi
  } | if [ -n "$out" ]; then tee "$out"; else cat; fi
  exit 0
fi
run_ours
run_floor
explain_pipeline
[ "$peer" = parse-server ] && run_peer
if [ -n "$out" ]; then report | tee "$out"; else report; fi
