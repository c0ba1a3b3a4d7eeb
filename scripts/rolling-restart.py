#!/usr/bin/env python3
"""Restarts every member of a kv_server cluster in turn without an election per member: followers first, the
leader last after handing leadership to the most up-to-date follower (POST /leader). After each restart it waits
until the member is healthy and has applied everything the leader had committed, so at most one member is ever
behind.

    rolling-restart.py --members HOST:PORT,HOST:PORT,... --restart COMMAND [--timeout SECONDS]
                       [--https [--cacert FILE]]

--members are the members' HTTP addresses. Before each restart every member must be healthy and caught up (so
taking one down never leaves the cluster short of a quorum it had). COMMAND is run by the shell once per member with RAFTKIT_MEMBER (its
name) and RAFTKIT_MEMBER_HTTP (its HTTP address) in the environment, and must return once the member has been told
to restart, e.g.
    --restart 'ssh "${RAFTKIT_MEMBER_HTTP%:*}" sudo systemctl restart kv-server'
With KV_TOKEN set, sends it as a bearer token (POST /leader needs the admin role).

Exit status: 0 every member restarted and caught up; 1 a step failed or timed out (which, on stderr; members not
yet restarted are left alone); 2 a bad command line. Python standard library only."""
import argparse
import http.client
import json
import os
import ssl
import subprocess
import sys
import time


class Cluster:
    def __init__(self, members, https, cacert):
        self.members = members
        self.context = None
        if https:
            self.context = ssl.create_default_context(cafile=cacert)

    def call(self, address, method, path, body=None, timeout=5):
        host, port = address.rsplit(":", 1)
        if self.context is not None:
            c = http.client.HTTPSConnection(host, int(port), timeout=timeout, context=self.context)
        else:
            c = http.client.HTTPConnection(host, int(port), timeout=timeout)
        headers = {"Content-Type": "application/json"}
        if os.environ.get("KV_TOKEN"):
            headers["Authorization"] = "Bearer " + os.environ["KV_TOKEN"]
        try:
            c.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
            r = c.getresponse()
            data = r.read()
            try:
                return r.status, json.loads(data) if data else None
            except ValueError:
                return r.status, None
        finally:
            c.close()

    def status(self, address):
        try:
            code, j = self.call(address, "GET", "/status")
            return j if code == 200 and isinstance(j, dict) else None
        except (OSError, http.client.HTTPException):
            return None

    def healthy(self, address):
        try:
            return self.call(address, "GET", "/health")[0] == 200
        except (OSError, http.client.HTTPException):
            return False

    def leader(self):
        """(name, HTTP address) of the leader every reachable member agrees on, or None."""
        named = {}
        for a in self.members:
            s = self.status(a)
            if s is not None and s.get("leader"):
                named[a] = (s["leader"], s.get("http"))
        if not named or len(set(named.values())) != 1:
            return None
        return next(iter(named.values()))


def wait_for(what, predicate, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError("timed out after %.0f s waiting until %s" % (timeout, what))


def everyone_caught_up(cluster):
    """True when every member answers /health with 200 and has applied what the leader has committed: only then may
    one of them go down without leaving the cluster a member short of what it had."""
    leader = cluster.leader()
    if leader is None or leader[1] is None:
        return False
    led = cluster.status(leader[1])
    if led is None:
        return False
    for a in cluster.members:
        s = cluster.status(a)
        if s is None or not cluster.healthy(a) or s["applied"] < led["commit"]:
            return False
    return True


def restart_member(cluster, address, command, timeout):
    status = cluster.status(address)
    if status is None:
        raise RuntimeError("%s does not answer /status" % address)
    name = status["name"]
    wait_for("every member is healthy and caught up", lambda: everyone_caught_up(cluster), timeout)
    leader = wait_for("the cluster agrees on a leader", cluster.leader, timeout)
    if leader[0] == name:
        print("rolling-restart: %s leads; handing leadership over" % name, flush=True)
        code, answer = cluster.call(address, "POST", "/leader", timeout=timeout)
        if code != 200:
            raise RuntimeError("%s refused to hand leadership over: %d %s" % (name, code, answer))
        wait_for("another member leads", lambda: (cluster.leader() or (name,))[0] != name, timeout)
    print("rolling-restart: restarting %s (%s)" % (name, address), flush=True)
    env = dict(os.environ, RAFTKIT_MEMBER=name, RAFTKIT_MEMBER_HTTP=address)
    subprocess.run(command, shell=True, check=True, env=env, timeout=timeout)
    wait_for("%s is healthy and has applied what the leader committed" % name,
             lambda: everyone_caught_up(cluster), timeout)
    print("rolling-restart: %s is back and caught up" % name, flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--members", required=True, help="HTTP addresses, HOST:PORT,HOST:PORT,...")
    p.add_argument("--restart", required=True, help="shell command restarting $RAFTKIT_MEMBER")
    p.add_argument("--timeout", type=float, default=120, help="seconds each step may take (default 120)")
    p.add_argument("--https", action="store_true", help="the members serve HTTPS")
    p.add_argument("--cacert", help="with --https: the CA that signed the members' certificates")
    args = p.parse_args()
    members = [m.strip() for m in args.members.split(",") if m.strip()]
    if not members or any(":" not in m for m in members):
        p.error("--members: expected HOST:PORT,HOST:PORT,...")
    cluster = Cluster(members, args.https, args.cacert)
    try:
        statuses = {a: cluster.status(a) for a in members}
        missing = [a for a, s in statuses.items() if s is None]
        if missing:
            raise RuntimeError("not answering /status: %s" % ", ".join(missing))
        leader = wait_for("the cluster agrees on a leader", cluster.leader, args.timeout)
        # Followers first, the leader last: one handover for the whole restart.
        order = sorted(members, key=lambda a: statuses[a]["name"] == leader[0])
        for address in order:
            restart_member(cluster, address, args.restart, args.timeout)
    except (RuntimeError, TimeoutError, subprocess.SubprocessError, OSError) as e:
        print("rolling-restart: %s" % e, file=sys.stderr)
        return 1
    print("rolling-restart: all %d members restarted" % len(members))
    return 0


if __name__ == "__main__":
    sys.exit(main())
