"""Clients: each runs read, write and compare-and-set operations on a few keys at a time, one at a time, recording each
with its invoke and completion times (one monotonic clock) and its outcome: ok, fail (certainly not applied), or
unknown (a timeout or lost connection: it may or may not have taken effect)."""
import json
import threading
import time

from cluster import request
from nemesis import now_us

# Keys rotate, as with Jepsen's independent keys: every KEY_PERIOD_S the clients move to KEYS_PER_PERIOD fresh keys.
# A key's history then stays a few hundred operations long, with few unknown outcomes, which keeps the
# linearizability search small; a long run checks many short histories rather than three huge ones.
KEY_PERIOD_S = 5.0
KEYS_PER_PERIOD = 3


def key_at(seconds, i):
    return "k%d.%d" % (int(seconds / KEY_PERIOD_S), i)


class Client(threading.Thread):
    def __init__(self, cid, cluster, rng, start, history, lock, stop):
        super().__init__(daemon=True)
        self.cid, self.cluster, self.rng, self.start0 = cid, cluster, rng, start
        self.history, self.lock, self.stop_flag = history, lock, stop
        # Bound to a home node, as Jepsen's clients are: every operation starts there (a follower answers "not the
        # leader" and the client follows), so each node's view is exercised, stale ones included.
        initial = [n for n in cluster.nodes if n.member]
        self.home = initial[cid % len(initial)].http
        self.counter = 0
        self.seen = {}  # key -> the last value this client read or wrote there

    def run(self):
        while not self.stop_flag.is_set():
            self.one()

    def another(self):
        return self.rng.choice(self.cluster.nodes).http

    def one(self):
        key = key_at(time.monotonic() - self.start0, self.rng.randrange(KEYS_PER_PERIOD))
        r = self.rng.random()
        op = {"client": self.cid, "key": key}
        # Every written value is unique (client, counter), as in Jepsen's register tests: a read then names the one
        # write it can have come from, which keeps the checker's search small and its verdicts definite. A
        # compare-and-set expects the value this client last saw for the key, so it succeeds often enough.
        self.counter += 1
        value = "%d.%d" % (self.cid, self.counter)
        if r < 0.4:
            op["f"], method, path, body = "read", "GET", "/kv/" + key, None
        elif r < 0.75:
            op["f"], op["value"], method, path, body = "write", value, "PUT", "/kv/" + key, {"value": value}
        else:
            expected = self.seen.get(key) or value
            op.update({"f": "cas", "expected": expected, "value": value})
            method, path, body = "POST", "/cas/" + key, {"expected": expected, "value": value}
        op["invoke"] = now_us(self.start0)
        outcome = "unknown"
        deadline = time.monotonic() + 2.0
        target = self.home
        while time.monotonic() < deadline:
            try:
                status, j = request(target, method, path, body)
            except ConnectionRefusedError:
                # Nothing was sent (the node is down): certain not to have happened. Try another node shortly.
                target = self.another()
                time.sleep(0.05)
                continue
            except Exception:
                # A timeout or a connection lost mid-request: the operation may or may not have happened.
                break
            if status == 421:  # not the leader: follow the hint (a definite refusal, nothing was applied)
                target = j["http"]
                continue
            if (status == 503 and isinstance(j, dict) and j.get("error") in ("no_leader", "starting")) or status == 429:
                # No leader known here, the server still starting, or overloaded: refused before anything was
                # proposed. Try elsewhere.
                target = self.another()
                time.sleep(0.05)
                continue
            if status == 200 and op["f"] == "read":
                op["value"] = j.get("value")
                outcome = "ok"
            elif status == 404 and op["f"] == "read":
                op["value"] = None
                outcome = "ok"
            elif status == 200 and op["f"] == "write":
                outcome = "ok"
            elif status == 200 and op["f"] == "cas":
                outcome = "ok" if j.get("ok") else "fail"
            elif status == 503 and "Dropped" in json.dumps(j):
                outcome = "fail"  # refused before applying: certain not to have happened
            break
        if op["f"] == "read" and outcome != "ok":
            op["value"] = None
        if outcome != "unknown":
            op["complete"] = now_us(self.start0)
        op["outcome"] = outcome
        if outcome == "ok" and (op["f"] != "read" or op["value"] is not None):
            self.seen[key] = op["value"]
        with self.lock:
            self.history.append(op)
