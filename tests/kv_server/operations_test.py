#!/usr/bin/env python3
"""Operating a kv_server cluster, over real processes on loopback: recovering from a lost quorum with raftkit-admin
(two of three data directories destroyed, the survivor forced into a one-member cluster, grown back to three, every
key written before the loss still there); the live cluster page in headless Chromium (every member and the leader
shown, and the new leader after the old one is stopped; screenshots kept); scripts/rolling-restart.py restarting
three supervised members under load with each write failing at most once.

    operations_test.py DIR [-k PATTERN]
DIR holds examples/kv_server, examples/kv_client and admin/raftkit-admin (a CMake build directory, or Bazel's
runfiles root). Python standard library only."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from ports import free_port  # noqa: E402
import kv_processes  # noqa: E402
from kv_processes import Cluster, Server, Writer, jrequest, request, wait_until  # noqa: E402

ADMIN = None
ROLLING_RESTART = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                               "scripts", "rolling-restart.py")
SHOTS = None  # where the cluster page's screenshots go


def admin(*args):
    p = subprocess.run([ADMIN] + list(args), capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def show(data):
    rc, out, err = admin("show", data)
    if rc != 0:
        raise AssertionError("raftkit-admin show %s: %d %s" % (data, rc, err))
    return json.loads(out)


def raft_address(server):
    """The peer's own Raft HOST:PORT, from its --members entry (ID=NAME@RAFT/HTTP)."""
    spec = server.args[server.args.index("--members") + 1]
    for member in spec.split(","):
        name, addresses = member.split("=", 1)[1].split("@", 1)
        if name == server.name:
            return addresses.split("/")[0]
    raise AssertionError("%s is not in %s" % (server.name, spec))


class QuorumLossTests(unittest.TestCase):
    """Two of three members lost for good: the survivor is made the only member, started, and grown back to three."""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="kv-quorum-")
        # Snapshots every 40 entries: the configuration the survivor starts from lives in a snapshot, not the log.
        self.cluster = Cluster(self.work, extra=("--snapshot-entries", "40", "--trailing-entries", "10"))
        self.joined = []

    def tearDown(self):
        self.cluster.stop()
        for s in self.joined:
            s.stop()
        if sys.exc_info()[0] is None:
            shutil.rmtree(self.work, ignore_errors=True)

    def put_all(self, port, prefix, count):
        for i in range(count):
            status, _, j = jrequest(port, "PUT", "/kv/%s%d" % (prefix, i), {"value": "%s-%d" % (prefix, i)})
            self.assertEqual(status, 200, j)

    def assert_all_there(self, port, prefix, count):
        for i in range(count):
            status, _, j = jrequest(port, "GET", "/kv/%s%d" % (prefix, i))
            self.assertEqual((status, j.get("value")), (200, "%s-%d" % (prefix, i)), (prefix, i))

    def test_the_survivor_of_a_lost_quorum_is_forced_into_a_new_cluster_and_grown_back_to_three(self):
        cluster = self.cluster
        leader = cluster.leader()
        self.put_all(cluster.http[leader], "before", 150)
        commit = jrequest(cluster.http[leader], "GET", "/status")[2]["commit"]
        for name, port in cluster.http.items():
            self.assertTrue(wait_until(lambda: jrequest(port, "GET", "/status")[2]["applied"] >= commit), name)

        # A running peer's directory is refused: the tool never races a peer.
        rc, _, err = admin("show", cluster.servers[leader].data)
        self.assertEqual(rc, 1)
        self.assertIn("open in another process", err)

        for s in cluster.servers.values():
            s.proc.kill()
            s.proc.wait()
        shown = {name: show(s.data) for name, s in cluster.servers.items()}
        for name, j in shown.items():
            self.assertEqual(j["engine"], "rocksdb")
            self.assertEqual(sorted(j["configuration"]["members"]["voters"]), [1, 2, 3], j)
            self.assertIsNotNone(j["snapshot"], j)
            self.assertTrue(j["configuration"]["from_snapshot"], j)
        # The survivor: a follower of the old leader whose log is most up to date (the operator's rule: the highest
        # last term, then the highest last index).
        survivor = max((n for n in shown if n != leader),
                       key=lambda n: (shown[n]["log"]["last_term"], shown[n]["log"]["last_index"]))
        data = cluster.servers[survivor].data
        rc, out, err = admin("verify", data)
        self.assertEqual(rc, 0, err)
        self.assertIn("verified:", out)
        for name, s in cluster.servers.items():
            if name != survivor:
                shutil.rmtree(s.data)

        # Without --yes it only says what it would do.
        rc, _, err = admin("force-new-cluster", data)
        self.assertEqual(rc, 1)
        self.assertIn("--yes", err)
        self.assertEqual(show(data)["log"], shown[survivor]["log"])
        rc, out, err = admin("force-new-cluster", data, "--yes")
        self.assertEqual(rc, 0, err)
        after = show(data)
        me = after["member_id"]
        self.assertEqual(after["configuration"]["members"]["voters"], [me])
        self.assertEqual([m["name"] for m in after["configuration"]["members"]["members"]], [survivor])
        self.assertFalse(after["configuration"]["from_snapshot"])
        self.assertEqual(after["log"]["last_index"], shown[survivor]["log"]["last_index"] + 1)
        self.assertEqual(after["hard_state"]["commit"], after["log"]["last_index"])
        rc, _, err = admin("verify", data)
        self.assertEqual(rc, 0, err)

        # Started with its usual command line, it leads alone and holds every key.
        cluster.servers[survivor].log.close()
        cluster.servers[survivor].log = open(os.path.join(self.work, survivor + ".restarted.log"), "wb")
        cluster.servers[survivor].start()
        port = cluster.http[survivor]
        self.assertTrue(wait_until(lambda: jrequest(port, "GET", "/status")[2]["leader"] == survivor, timeout=30))
        self.assert_all_there(port, "before", 150)
        self.put_all(port, "alone", 30)

        # Two new members join it (learners, promoted once caught up): three voters again.
        seed = raft_address(cluster.servers[survivor])
        for name in ("peer4", "peer5"):
            http_port = free_port()
            s = Server(self.work, name, ["--join", seed, "--raft", "127.0.0.1:%d" % free_port(),
                                         "--http", "127.0.0.1:%d" % http_port, "--data",
                                         os.path.join(self.work, name), "--snapshot-entries", "40",
                                         "--trailing-entries", "10"]).start()
            s.http_port = http_port
            self.joined.append(s)

        def three_voters():
            status, _, members = jrequest(port, "GET", "/members")
            return status == 200 and sorted(m["name"] for m in members if m["role"] == "voter") == \
                sorted([survivor, "peer4", "peer5"])

        self.assertTrue(wait_until(three_voters, timeout=60), jrequest(port, "GET", "/members"))
        self.put_all(port, "grown", 30)

        # The new members hold everything: with the survivor gone, they elect a leader and serve every key.
        cluster.servers[survivor].proc.kill()
        cluster.servers[survivor].proc.wait()
        new_ports = [s.http_port for s in self.joined]

        def new_leader():
            leaders = [jrequest(p, "GET", "/status")[2]["leader"] for p in new_ports]
            return leaders[0] in ("peer4", "peer5") and leaders[0] == leaders[1]

        self.assertTrue(wait_until(new_leader, timeout=30))
        leader_name = jrequest(new_ports[0], "GET", "/status")[2]["leader"]
        lead = next(s.http_port for s in self.joined if s.name == leader_name)
        self.assert_all_there(lead, "before", 150)
        self.assert_all_there(lead, "alone", 30)
        self.assert_all_there(lead, "grown", 30)


class RollingRestartScriptTests(unittest.TestCase):
    """scripts/rolling-restart.py over three members that a supervisor starts again whenever they exit (as systemd's
    Restart=always does), while a client writes."""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="kv-rolling-script-")
        self.cluster = Cluster(self.work)
        self.supervising = True
        self.supervisors = [threading.Thread(target=self.supervise, args=(s,), daemon=True)
                            for s in self.cluster.servers.values()]
        for t in self.supervisors:
            t.start()

    def tearDown(self):
        self.supervising = False
        self.cluster.stop()
        for t in self.supervisors:
            t.join(30)
        self.cluster.stop()  # a member a supervisor started while the first stop ran
        if sys.exc_info()[0] is None:
            shutil.rmtree(self.work, ignore_errors=True)

    def supervise(self, server):
        pid_file = os.path.join(self.work, server.name + ".pid")
        while True:
            with open(pid_file + ".tmp", "w") as f:
                f.write("%d\n" % server.proc.pid)
            os.rename(pid_file + ".tmp", pid_file)
            server.proc.wait()
            if not self.supervising:
                return
            server.start()

    def test_the_script_restarts_every_member_with_one_handover_and_at_most_one_retry_per_write(self):
        cluster = self.cluster
        leader = cluster.leader()
        first_leader = leader
        first_term = jrequest(cluster.http[leader], "GET", "/status")[2]["term"]
        writer = Writer(cluster.http.values(), cluster.http[leader], prefix="rs").start()
        try:
            self.assertTrue(writer.wrote_more(20))
            # Like `systemctl restart`: returns once the old process is gone (the supervisor starts a new one).
            restart = 'pid=$(cat "%s/$RAFTKIT_MEMBER.pid"); kill -TERM "$pid"; ' \
                      'while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done' % self.work
            members = ",".join("127.0.0.1:%d" % p for p in cluster.http.values())
            p = subprocess.run([sys.executable, ROLLING_RESTART, "--members", members, "--restart", restart,
                                "--timeout", "40"], capture_output=True, text=True, timeout=200)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn("all 3 members restarted", p.stdout)
            self.assertEqual(p.stdout.count("is back and caught up"), 3, p.stdout)
            self.assertTrue(writer.wrote_more(20))
        finally:
            writer.stop()
        self.assertIsNone(writer.error)
        leader = cluster.leader()
        for i in range(0, writer.writes, max(1, writer.writes // 50)):
            status, _, j = jrequest(cluster.http[leader], "GET", "/kv/rs%d" % i)
            self.assertEqual((status, j.get("value")), (200, str(i)), i)
        term = jrequest(cluster.http[leader], "GET", "/status")[2]["term"]
        # One handover is one election; any other (a heartbeat late under the machine's load) costs retries that
        # are not the restart's: the bound holds when there was none.
        if term - first_term == 1:
            # No election but the handover: the leader went last, after handing over once.
            self.assertEqual(p.stdout.count("handing leadership over"), 1, p.stdout)
            self.assertIn("restarting %s" % first_leader, p.stdout.strip().splitlines()[-3], p.stdout)
            self.assertLessEqual(writer.worst, 1, "writes failed more than once: %s" % writer.failures)
        else:
            print("note: %d election(s) beyond the handover; failures: %s" % (term - first_term - 1, writer.failures),
                  file=sys.stderr)


class ClusterPageTests(unittest.TestCase):
    """The page a member serves at / shows every member and the leader, and follows a change of leader."""

    def setUp(self):
        self.chromium = shutil.which("chromium")
        if self.chromium is None:
            self.skipTest("chromium is not installed (scripts/install-deps.sh installs Debian's chromium)")
        self.work = tempfile.mkdtemp(prefix="kv-page-")
        self.cluster = Cluster(self.work)
        self.writing = True
        self.writer = None

    def tearDown(self):
        self.writing = False
        if self.writer is not None:
            self.writer.join(30)
        self.cluster.stop()
        if sys.exc_info()[0] is None:
            shutil.rmtree(self.work, ignore_errors=True)

    def write_forever(self):
        """Writes and reads through whoever leads, so the charts have something to draw."""
        i = 0
        while self.writing:
            for port in self.cluster.http.values():
                try:
                    if jrequest(port, "PUT", "/kv/page%d" % i, {"value": "x" * 100})[0] == 200:
                        jrequest(port, "GET", "/kv/page%d" % i)
                        i += 1
                        break
                except OSError:
                    pass
            time.sleep(0.01)

    def browse(self, port, screenshot):
        """The page's DOM after it has run for a few (virtual) seconds, and a screenshot of it."""
        url = "http://127.0.0.1:%d/" % port
        profile = tempfile.mkdtemp(prefix="chromium-", dir=self.work)
        args = [self.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--window-size=1400,900",
                "--virtual-time-budget=5000"]
        env = dict(os.environ, HOME=profile)
        p = subprocess.run(args + ["--dump-dom", url], capture_output=True, text=True, timeout=60, env=env)
        self.assertIn("<table", p.stdout, p.stderr[-2000:])
        shot = subprocess.run(args + ["--screenshot=" + screenshot, url], capture_output=True, text=True,
                              timeout=60, env=env)
        self.assertTrue(os.path.getsize(screenshot) > 10000, shot.stderr[-2000:])
        return p.stdout

    def leader_and_term(self, members):
        """The leader the given members agree on and its term, or None while they do not agree (or do not answer)."""
        try:
            views = [jrequest(self.cluster.http[n], "GET", "/status")[2] for n in members]
            leaders = {(v or {}).get("leader") for v in views}
            if len(leaders) != 1 or None in leaders:
                return None
            leader = leaders.pop()
            return leader, jrequest(self.cluster.http[leader], "GET", "/status")[2]["term"]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def page_with_a_steady_leader(self, port, screenshot, members):
        """The page's DOM and the leader it must show. Two cores shared with Chromium may see an election while the
        page loads (the page then rightly shows whoever leads when it asked); the leader it must show is only known
        if the same leader in the same term held before and after, so the page is loaded again until that is so."""
        for _ in range(4):
            self.assertTrue(wait_until(lambda: self.leader_and_term(members) is not None, timeout=30))
            before = self.leader_and_term(members)
            dom = self.browse(port, screenshot)
            if before is not None and self.leader_and_term(members) == before:
                return dom, before[0]
            print("leadership moved while the page loaded (before: %s); loading it again" % (before,), file=sys.stderr)
        self.fail("leadership moved during every page load")

    @staticmethod
    def shown(dom):
        leader = re.search(r'<span id="leader">([^<]*)</span>', dom).group(1)
        return leader, dict(re.findall(r'<tr data-member="([^"]+)" data-state="([^"]+)"', dom))

    def test_the_page_shows_every_member_and_follows_the_leader(self):
        cluster = self.cluster
        leader = cluster.leader()
        # Served as a static, self-contained page; the members answer the page's cross-origin reads.
        follower = next(n for n in sorted(cluster.http) if n != leader)
        port = cluster.http[follower]
        status, headers, body = request(port, "GET", "/")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/html"))
        self.assertIn("default-src 'none'", headers["Content-Security-Policy"])
        self.assertNotRegex(body.decode(), r'src="http|href="http')  # nothing downloaded from elsewhere
        # A member's page may read another member's monitoring answers; no other site may, and nothing else.
        page = {"Origin": "http://127.0.0.1:%d" % port}
        status, headers, _ = request(cluster.http[leader], "OPTIONS", "/status",
                                     headers=dict(page, **{"Access-Control-Request-Headers": "authorization"}))
        self.assertEqual((status, headers["Access-Control-Allow-Origin"]), (204, page["Origin"]))
        self.assertIn("Authorization", headers["Access-Control-Allow-Headers"])
        self.assertEqual(request(cluster.http[leader], "GET", "/status", headers=page)[1]
                         ["Access-Control-Allow-Origin"], page["Origin"])
        for origin in ("http://evil.example", "http://127.0.0.1:%d.evil.example" % port, "null", ""):
            for method in ("GET", "OPTIONS"):
                self.assertNotIn("Access-Control-Allow-Origin",
                                 request(cluster.http[leader], method, "/metrics", headers={"Origin": origin})[1])
        self.assertNotIn("Access-Control-Allow-Origin", request(cluster.http[leader], "GET", "/kv/x", headers=page)[1])
        self.assertNotIn("Access-Control-Allow-Origin", request(cluster.http[leader], "POST", "/leader",
                                                                body=json.dumps({"name": leader}), headers=page)[1])
        self.assertRegex(request(port, "GET", "/")[1]["Content-Security-Policy"], r"script-src 'sha256-[A-Za-z0-9+/=]+'")

        self.writer = threading.Thread(target=self.write_forever)
        self.writer.start()
        os.makedirs(SHOTS, exist_ok=True)
        dom, leader = self.page_with_a_steady_leader(port, os.path.join(SHOTS, "cluster-page-1-three-members.png"),
                                                     list(cluster.http))
        shown_leader, rows = self.shown(dom)
        self.assertEqual(shown_leader, leader, dom)
        self.assertEqual(rows, {n: "leader" if n == leader else "follower" for n in cluster.http}, dom)
        self.assertIn("3 members, 3 reachable", dom)
        # The charts drew the leader's rates: applied entries, durable writes and reads, each with a value.
        self.assertRegex(dom, r"entries/s: [0-9]", dom)
        self.assertGreaterEqual(len(re.findall(r"mean: [0-9]", dom)), 2, dom)

        # The leader stops: the page (served by a follower) shows the new leader and the old one unreachable.
        cluster.servers[leader].proc.kill()
        cluster.servers[leader].proc.wait()
        survivors = [n for n in cluster.http if n != leader]

        def new_leader():
            named = [jrequest(cluster.http[n], "GET", "/status")[2]["leader"] for n in survivors]
            return named[0] in survivors and named[0] == named[1]

        self.assertTrue(wait_until(new_leader, timeout=30))
        port = cluster.http[survivors[0]]  # the first page's server may have been the leader by then
        dom, elected = self.page_with_a_steady_leader(port, os.path.join(SHOTS, "cluster-page-2-new-leader.png"),
                                                      survivors)
        shown_leader, rows = self.shown(dom)
        self.assertEqual(shown_leader, elected, dom)
        self.assertEqual(rows[leader], "unreachable", dom)
        self.assertEqual(rows[elected], "leader", dom)
        self.assertIn("3 members, 2 reachable", dom)
        print("cluster page screenshots: %s" % SHOTS, file=sys.stderr)


if __name__ == "__main__":
    root = os.path.abspath(sys.argv[1])
    # Bazel keeps a test's files in TEST_UNDECLARED_OUTPUTS_DIR; a CMake build in the build directory.
    SHOTS = os.path.join(os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR") or root, "operations")
    kv_processes.SERVER = os.path.join(root, "examples", "kv_server")
    ADMIN = os.path.join(root, "admin", "raftkit-admin")
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)
