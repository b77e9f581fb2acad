#!/usr/bin/env bash
# Scoring under load, as a web developer would measure it: the WebService sample on 127.0.0.1,
# 5 age groups x 600 embeddings of 832 values, wrk posting single scores for a few seconds per case
# at 1, 8 and 32 connections, with no training, one, and two trainings running (each training a
# long retrain whose client then disconnects, which cancels it). Prints a markdown table.
# Needs wrk (Debian package "wrk") and python3. Bounded: about 5 s per case, loopback only.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
seconds="${SECONDS_PER_CASE:-5}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

work="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
service=""
trainers=()
cleanup() {
  [ -n "$service" ] && kill "$service" 2>/dev/null && wait "$service" 2>/dev/null || true
  [ ${#trainers[@]} -gt 0 ] && kill "${trainers[@]}" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

dotnet build -c Release "$here/WebService.csproj" -v q --nologo >/dev/null
dotnet "$here/bin/Release/net10.0/WebService.dll" --urls "$base" \
  --Database="$work/load.db" --ModelManager:CheckpointDirectory="$work/ck" \
  --ModelManager:MaxConcurrentTrainings=2 --ModelManager:DefaultTrainingConfig:EarlyStoppingPatience=100000 \
  --Logging:LogLevel:Default=Warning >"$work/service.log" 2>&1 &
service=$!
for _ in $(seq 1 100); do curl -fs "$base/health" >/dev/null 2>&1 && break; sleep 0.2; done

# 5 groups (ages 3, 5, 7, 9, 11) x 600 embeddings of 832 values, each group around its own centre.
python3 - "$work" <<'PY'
import json, random, sys
work = sys.argv[1]
random.seed(1)
for g, age in enumerate([3, 5, 7, 9, 11]):
    centre = [random.gauss(0, 1) for _ in range(832)]
    rows = [{"age": age + 0.5, "embedding": [round(c + random.gauss(0, 0.3), 4) for c in centre]} for _ in range(600)]
    json.dump(rows, open(f"{work}/group{g}.json", "w"))
    if g == 1:
        json.dump({"age": age + 0.5, "embedding": rows[0]["embedding"]}, open(f"{work}/score.json", "w"))
PY
for g in 0 1 2 3 4; do
  curl -fs -H 'Content-Type: application/json' --data-binary @"$work/group$g.json" "$base/samples" >/dev/null
done
for age in 3 5 7 9 11; do
  curl -fs -H 'Content-Type: application/json' -d "{\"ageMin\":$age,\"ageMax\":$((age + 1)),\"epochs\":5}" "$base/models/train" >/dev/null
done

cat >"$work/score.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$work/score.json", "r"); wrk.body = f:read("*a"); f:close()
LUA

# A long retrain (100,000 epochs) whose client is killed after the case: the disconnect cancels it.
start_trainings() {
  local n=$1 ages=(7 9)
  trainers=()
  for ((i = 0; i < n; i++)); do
    curl -s -o /dev/null -H 'Content-Type: application/json' \
      -d "{\"ageMin\":${ages[$i]},\"ageMax\":$((ages[$i] + 1)),\"epochs\":100000}" "$base/models/train" &
    trainers+=($!)
  done
  sleep 1 # let them start before measuring
}
stop_trainings() {
  [ ${#trainers[@]} -gt 0 ] || return 0
  kill "${trainers[@]}" 2>/dev/null || true
  wait "${trainers[@]}" 2>/dev/null || true
  trainers=()
  sleep 0.5 # cancelled trainings end at their next batch
}

wrk -t2 -c8 -d3s -s "$work/score.lua" "$base/score" >/dev/null # warm-up (JIT, caches), not reported
echo "| connections | trainings running | requests/s | p50 ms | p99 ms | max ms | errors |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for trainings in 0 1 2; do
  for connections in 1 8 32; do
    threads=$(( connections < 2 ? 1 : 2 ))
    [ "$trainings" -gt 0 ] && start_trainings "$trainings"
    out=$(wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s "$work/score.lua" "$base/score")
    stop_trainings
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    max=$(echo "$out" | awk '$1 == "Latency" {print $4}')
    errors=$(echo "$out" | awk '/Non-2xx/ {print $5}'); errors=${errors:-0}
    ms() { python3 -c "import sys; v=sys.argv[1]; u=v.lstrip('0123456789.'); n=float(v[:len(v)-len(u)]); print(round(n*{'us':0.001,'ms':1,'s':1000}[u],3))" "$1"; }
    echo "| $connections | $trainings | $rps | $(ms "$p50") | $(ms "$p99") | $(ms "$max") | $errors |"
  done
done
