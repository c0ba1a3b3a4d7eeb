#!/usr/bin/env bash
# The README's run command: on a fresh Debian 12 machine, installs what is needed, builds, starts a local 3-node
# cluster of the key-value server (one process per peer, RocksDB logs in a temporary directory, all on 127.0.0.1,
# mutual TLS between the peers with certificates from scripts/make-certs.sh),
# runs the original README's script against it over the real network — write, read, a missing key, stop the
# leader, a new leader elected, read again — then writes enough for the others to snapshot and compact, restarts the
# old leader and shows it catching up by snapshot; a fourth peer joins the running cluster and leaves again; printing
# each step, then stops everything.
#
#   ./scripts/run-cluster.sh               install, build, run
#   ./scripts/run-cluster.sh --no-build B  use binaries already built in build directory B (the test uses this)
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
if [ "${1:-}" = "--no-build" ]; then
  build=${2:-build}
else
  ./scripts/install-deps.sh
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" --target kv_server kv_client
fi
server=$build/examples/kv_server
client=$build/examples/kv_client

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ports=($(python3 -c 'import socket
s=[socket.socket() for _ in range(8)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))'))
members=""
for i in 1 2 3; do
  raft=${ports[$((i - 1))]}
  http=${ports[$((i + 2))]}
  members+="${members:+,}$i=peer$i@127.0.0.1:$raft/127.0.0.1:$http"
  httpport[$i]=$http
done

step() { printf '\n==> %s\n' "$*"; }

# Mutual TLS between peers: a development CA and a certificate per peer (scripts/make-certs.sh).
./scripts/make-certs.sh "$work/certs" peer1 peer2 peer3 peer4 >/dev/null
tls() { echo --peer-tls-ca "$work/certs/ca.pem" --peer-tls-cert "$work/certs/$1.pem" --peer-tls-key "$work/certs/$1.key"; }

start_peer() {  # small snapshot thresholds, so this short run shows snapshots and compaction
  # shellcheck disable=SC2046  # tls prints flags and paths without spaces
  "$server" --name "peer$1" --members "$members" --data "$work/peer$1" --snapshot-entries 20 --trailing-entries 5 \
    $(tls "peer$1") >>"$work/peer$1.log" 2>&1 &
  pids[$1]=$!
  echo "peer$1: pid ${pids[$1]}, HTTP 127.0.0.1:${httpport[$1]}"
}

step "starting peer1, peer2, peer3 (RocksDB logs and snapshots under $work; a snapshot every 20 entries)"
for i in 1 2 3; do start_peer "$i"; done

leader_of() {  # prints the leader's name as seen by the server on HTTP port $1, or nothing
  "$client" --server "127.0.0.1:$1" leader 2>/dev/null | python3 -c 'import sys,json
try: j=json.load(sys.stdin); print(j.get("leader") or "")
except Exception: pass'
}
wait_for_leader() {  # $@: HTTP ports to ask
  for _ in $(seq 1 200); do
    for p in "$@"; do
      l=$(leader_of "$p")
      if [ -n "$l" ]; then echo "$l"; return 0; fi
    done
    sleep 0.05
  done
  return 1
}

step "waiting for a leader"
leader=$(wait_for_leader "${httpport[1]}" "${httpport[2]}" "${httpport[3]}")
echo "leader: $leader"
any=${httpport[1]}

step "put greeting = hello   (sent to peer1; the client follows a not-leader answer)"
"$client" --server "127.0.0.1:$any" put greeting hello

step "get greeting"
"$client" --server "127.0.0.1:$any" get greeting

step "get missing-key   (expect key_not_found)"
"$client" --server "127.0.0.1:$any" get missing-key || true

step "compare-and-set greeting hello -> hi"
"$client" --server "127.0.0.1:$any" cas greeting hello hi

n=${leader#peer}
step "killing the leader, $leader (pid ${pids[$n]}), as a crash would"
# SIGKILL: a crash. (SIGTERM would hand leadership over first and keep replicating for two seconds, so the peer
# would miss fewer entries and might not need the snapshot this script shows.)
kill -KILL "${pids[$n]}"
wait "${pids[$n]}" 2>/dev/null || true
unset "pids[$n]"
remaining=()
for i in 1 2 3; do [ "$i" != "$n" ] && remaining+=("${httpport[$i]}"); done

step "waiting for a new leader"
new_leader=""
for _ in $(seq 1 200); do
  new_leader=$(wait_for_leader "${remaining[@]}" || true)
  if [ -n "$new_leader" ] && [ "$new_leader" != "$leader" ]; then break; fi
  sleep 0.05
done
echo "new leader: $new_leader"
[ -n "$new_leader" ] && [ "$new_leader" != "$leader" ]

step "get greeting   (from the new leader: the value is still there)"
out=$("$client" --server "127.0.0.1:${remaining[0]}" get greeting)
echo "$out"
echo "$out" | grep -q '"hi"'

step "40 more writes while $leader is down: the others snapshot and compact their logs past it"
for k in $(seq 1 40); do "$client" --server "127.0.0.1:${remaining[0]}" put "key$k" "value$k" >/dev/null; done
for p in "${remaining[@]}"; do "$client" --server "127.0.0.1:$p" status; done

step "restarting $leader on its data: it is behind the leader's log, so it catches up by snapshot"
start_peer "$n"
caught_up=""
for _ in $(seq 1 200); do
  st=$("$client" --server "127.0.0.1:${httpport[$n]}" status 2>/dev/null || true)
  if echo "$st" | python3 -c 'import sys,json
j=json.load(sys.stdin); sys.exit(0 if j["snapshots_installed"] >= 1 and j["applied"] >= j["commit"] > 40 else 1)' 2>/dev/null; then
    caught_up=yes
    break
  fi
  sleep 0.05
done
echo "$st"
[ -n "$caught_up" ]

step "status of every peer"
for i in 1 2 3; do "$client" --server "127.0.0.1:${httpport[$i]}" status; done

step "peer4 joins the running cluster through peer1 (kv_server --join): added as a learner, caught up, promoted"
"$server" --name peer4 --join "127.0.0.1:${ports[0]}" --raft "127.0.0.1:${ports[6]}" --http "127.0.0.1:${ports[7]}" \
  --data "$work/peer4" --snapshot-entries 20 --trailing-entries 5 $(tls peer4) >>"$work/peer4.log" 2>&1 &
pids[4]=$!
httpport[4]=${ports[7]}
joined=""
for _ in $(seq 1 200); do
  m=$("$client" --server "127.0.0.1:${httpport[1]}" members 2>/dev/null || true)
  if echo "$m" | python3 -c 'import sys,json
sys.exit(0 if any(x["name"]=="peer4" and x["role"]=="voter" for x in json.load(sys.stdin)) else 1)' 2>/dev/null; then
    joined=yes
    break
  fi
  sleep 0.05
done
"$client" --server "127.0.0.1:${httpport[1]}" members
[ -n "$joined" ]
"$client" --server "127.0.0.1:${httpport[4]}" get greeting

step "peer4 leaves (kv_client leave)"
"$client" --server "127.0.0.1:${httpport[4]}" leave
"$client" --server "127.0.0.1:${httpport[1]}" members

step "done: stopping the cluster"
