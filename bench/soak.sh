#!/usr/bin/env bash
# Soak run: the real server (Release build, its own temporary data folder, loopback only) under mixed reads,
# writes, queries and logins for a fixed time. Reports per minute (per 10 s on runs shorter than 2 minutes):
# requests, errors, p99 latency, RSS and GC heap (from GET /parse/serverInfo with the master key). Exits non-zero
# when any request failed or the RSS keeps climbing. See bench/SOAK.md.
#
#   bench/soak.sh                       # 10 minutes
#   bench/soak.sh --duration 30         # 30 seconds (CI)
#   options: --duration SECONDS  --interval SECONDS  --concurrency N  --port PORT  --no-build
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
duration=600 interval="" concurrency=8 port="" build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --interval) interval="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$interval" ] || { if [ "$duration" -lt 120 ]; then interval=10; else interval=60; fi; }
[ -n "$port" ] || port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

app="$root/Crm.Functions/bin/Release/net10.0"
if [ "$build" = 1 ]; then dotnet build "$root/Crm.Functions" -c Release -v quiet -nologo >/dev/null; fi
[ -f "$app/Crm.Functions.dll" ] || { echo "no build at $app (run without --no-build)" >&2; exit 2; }

data="$(mktemp -d -t crm-soak-XXXXXX)"
master_key="soak-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$data"
}
trap cleanup EXIT

# Logins are part of the mix, so the per-IP login limit is off (every client here is 127.0.0.1).
( cd "$app" && ASPNETCORE_ENVIRONMENT=Production Parse__MasterKey="$master_key" Parse__DataFolder="$data" \
  Parse__Accounts__AuthRequestsPerMinute=0 Logging__LogLevel__Default=Warning \
  exec dotnet Crm.Functions.dll --urls "http://127.0.0.1:$port" >"$data/server.log" 2>&1 ) &
server_pid=$!

python3 - "$port" "$master_key" "$duration" "$interval" "$concurrency" "$data/server.log" <<'PY'
import http.client, json, random, sys, threading, time, uuid

port, master, duration, interval, concurrency, log_path = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
APP = {"X-Parse-Application-Id": "crm", "Content-Type": "application/json"}

def call(conn, method, path, body=None, token=None, use_master=False):
    headers = dict(APP)
    if token: headers["X-Parse-Session-Token"] = token
    if use_master: headers["X-Parse-Master-Key"] = master
    conn.request(method, "/parse/" + path, body=None if body is None else json.dumps(body), headers=headers)
    response = conn.getresponse()
    data = response.read()
    return response.status, (json.loads(data) if data else None)

def connect(): return http.client.HTTPConnection("127.0.0.1", port, timeout=30)

# Wait for the server (bounded), then set up a class and users.
conn = connect()
for _ in range(600):
    try:
        if call(conn, "GET", "health")[0] == 200: break
    except OSError:
        conn = connect()
    time.sleep(0.1)
else:
    print("server did not start:\n" + open(log_path).read()); sys.exit(1)
status, _ = call(conn, "POST", "schemas/SoakNote", {"fields": {"title": {"type": "String"}, "amount": {"type": "Number"}, "stage": {"type": "String"}, "owner": {"type": "Pointer", "targetClass": "_User"}}}, use_master=True)
assert status == 200, status
users = []
for i in range(12):
    name, password = f"soak{i}-{uuid.uuid4().hex[:8]}", "soak password " + uuid.uuid4().hex[:6]
    status, body = call(conn, "POST", "users", {"username": name, "password": password})
    assert status == 201, (status, body)
    users.append({"id": body["objectId"], "name": name, "password": password, "token": body["sessionToken"]})

lock = threading.Lock()
window = {"requests": 0, "errors": 0, "latencies": []}
total = {"requests": 0, "errors": 0}
first_errors = []
deadline = time.monotonic() + duration
STAGES = ["lead", "qualified", "proposal", "won", "lost"]

def record(started, ok, what):
    elapsed = (time.monotonic() - started) * 1000
    with lock:
        window["requests"] += 1; total["requests"] += 1
        window["latencies"].append(elapsed)
        if not ok:
            window["errors"] += 1; total["errors"] += 1
            if len(first_errors) < 10: first_errors.append(what)

def worker(seed):
    rng = random.Random(seed)
    conn = connect()
    mine = {}  # objectIds this worker created, per user (workers share users, not lists)
    while time.monotonic() < deadline:
        user = rng.choice(users)
        notes = mine.setdefault(user["id"], [])
        roll = rng.random()
        started = time.monotonic()
        try:
            if roll < 0.30 or not notes:
                status, body = call(conn, "POST", "classes/SoakNote", {"title": "note " + uuid.uuid4().hex, "amount": rng.randint(1, 10**6), "stage": rng.choice(STAGES),
                    "owner": {"__type": "Pointer", "className": "_User", "objectId": user["id"]}, "ACL": {user["id"]: {"read": True, "write": True}}}, token=user["token"])
                ok = status == 201
                if ok:
                    notes.append(body["objectId"])
                    if len(notes) > 200: notes.pop(0)
            elif roll < 0.45:
                status, body = call(conn, "PUT", f"classes/SoakNote/{rng.choice(notes)}", {"amount": {"__op": "Increment", "amount": 1}, "stage": rng.choice(STAGES)}, token=user["token"])
                ok = status == 200
            elif roll < 0.75:
                where = json.dumps({"owner": {"__type": "Pointer", "className": "_User", "objectId": user["id"]}, "stage": {"$in": rng.sample(STAGES, 2)}})
                status, body = call(conn, "GET", "classes/SoakNote?limit=20&order=-amount&where=" + urlquote(where), token=user["token"])
                ok = status == 200
            elif roll < 0.88:
                status, body = call(conn, "GET", f"classes/SoakNote/{rng.choice(notes)}", token=user["token"])
                ok = status == 200
            elif roll < 0.94:
                status, body = call(conn, "GET", "classes/SoakNote?count=1&limit=0&where=" + urlquote(json.dumps({"amount": {"$gt": rng.randint(1, 10**6)}})), token=user["token"])
                ok = status == 200
            elif roll < 0.97:
                status, body = call(conn, "POST", "login", {"username": user["name"], "password": user["password"]})
                ok = status == 200
            else:
                status, body = call(conn, "GET", "users/me", token=user["token"])
                ok = status == 200
            record(started, ok, f"{status} {json.dumps(body)[:200]}")
        except (OSError, http.client.HTTPException, ValueError) as e:
            record(started, False, f"{type(e).__name__}: {e}")
            conn.close(); conn = connect()

from urllib.parse import quote as urlquote
samples = []  # (seconds since start, rss, gc heap)
start = time.monotonic()
def sampler():
    conn = connect()
    while time.monotonic() < deadline:
        try:
            status, body = call(conn, "GET", "serverInfo", use_master=True)
            if status == 200:
                p = body["process"]
                with lock: samples.append((time.monotonic() - start, p["rssBytes"], p["gcHeapBytes"]))
        except (OSError, http.client.HTTPException, ValueError):
            conn.close(); conn = connect()
        time.sleep(2)

threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)] + [threading.Thread(target=sampler, daemon=True)]
for t in threads: t.start()
print(f"soak: {duration} s, {concurrency} clients, report every {interval} s, server on 127.0.0.1:{port}")
print(f"{'time':>6} {'requests':>9} {'req/s':>7} {'errors':>7} {'p99 ms':>8} {'RSS MiB':>8} {'heap MiB':>9}")
next_report = start + interval
while time.monotonic() < deadline:
    time.sleep(max(0, min(next_report, deadline) - time.monotonic()))
    now = time.monotonic()
    with lock:
        lat = sorted(window["latencies"]); req, err = window["requests"], window["errors"]
        window.update(requests=0, errors=0, latencies=[])
        rss, heap = (samples[-1][1], samples[-1][2]) if samples else (0, 0)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else 0
    span = now - (next_report - interval)
    print(f"{int(now - start):>5}s {req:>9} {req / max(span, 0.001):>7.0f} {err:>7} {p99:>8.1f} {rss / 2**20:>8.1f} {heap / 2**20:>9.1f}", flush=True)
    next_report += interval
for t in threads: t.join(timeout=35)

# RSS trend: least-squares slope over the samples after the first 20 % (warm-up), projected over that span.
failed = False
steady = samples[len(samples) // 5:]
if len(steady) >= 5:
    xs, ys = [s[0] for s in steady], [s[1] for s in steady]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / max(sum((x - mx) ** 2 for x in xs), 1e-9)
    growth = slope * (xs[-1] - xs[0])
    allowed = max(64 * 2**20, 0.30 * ys[0])
    print(f"RSS trend: {slope / 2**20 * 60:+.1f} MiB/min after warm-up, {growth / 2**20:+.1f} MiB over {xs[-1] - xs[0]:.0f} s (limit {allowed / 2**20:.0f} MiB)")
    if growth > allowed:
        print("FAIL: RSS keeps climbing"); failed = True
else:
    print(f"RSS trend: too few samples ({len(samples)}) to judge")
print(f"total: {total['requests']} requests, {total['errors']} errors")
if total["errors"]:
    print("FAIL: requests failed; first ones:"); [print("  " + e) for e in first_errors]; failed = True
if total["requests"] == 0:
    print("FAIL: no requests were made"); failed = True
sys.exit(1 if failed else 0)
PY
