"""Faults, chosen at random from a seed and logged with their times, each remembered as a window for the plot."""
import subprocess
import threading
import time

GROUPS = {
    "partitions": ["isolate", "split", "ring", "asymmetric", "heal"],
    "crashes": ["kill", "restart", "pause", "resume", "power"],
    "power": ["power"],
    "clock": ["clock", "clock-reset"],
    "membership": ["remove", "add"],
    "leader-clock": ["stall-leader", "unstall"],
}


def now_us(start):
    return int((time.monotonic() - start) * 1e6)


class Nemesis(threading.Thread):
    def __init__(self, cluster, rng, groups, start, stop, log):
        super().__init__(daemon=True)
        self.cluster, self.rng, self.start0, self.stop_flag, self.log = cluster, rng, start, stop, log
        self.groups = list(groups)
        self.round = []  # groups still to visit in this round: every group gets a turn before any gets two
        self.faults = []    # {"time_us", "fault"}
        self.windows = []   # {"start_us", "end_us", "kind", "what"}
        self.open = {}      # key -> window still open
        self.errors = []    # the nemesis itself failing (a harness problem, reported as a failed check)
        self.power_model = None  # what a power loss keeps of unsynced writes (raftkit-power-loss); None: any
        self.power_victims = "any"  # "all": every power loss takes every member down at once

    # --- bookkeeping ---
    def note(self, what):
        t = now_us(self.start0)
        self.faults.append({"time_us": t, "fault": what})
        self.log.write("%10.3f s  %s\n" % (t / 1e6, what))
        self.log.flush()

    def begin(self, key, kind, what):
        self.end(key)
        self.open[key] = {"start_us": now_us(self.start0), "end_us": None, "kind": kind, "what": what}

    def end(self, key):
        w = self.open.pop(key, None)
        if w:
            w["end_us"] = now_us(self.start0)
            self.windows.append(w)

    def end_all(self):
        for key in list(self.open):
            self.end(key)

    # --- network ---
    def iptables(self, *rule):
        subprocess.run(["iptables"] + list(rule), check=True)

    def cut(self, a, b):
        self.iptables("-A", "INPUT", "-s", a.ip, "-d", b.ip, "-j", "DROP")

    def heal_network(self):
        self.iptables("-F", "INPUT")
        self.end("net")

    # --- the loop ---
    def run(self):
        while not self.stop_flag.wait(self.rng.uniform(1.0, 4.0)):
            try:
                self.inject()
            except Exception as e:  # keep faulting; the run fails on it
                self.errors.append("%s: %s" % (e.__class__.__name__, e))
                self.note("nemesis error: %s" % e)

    def inject(self):
        self.cluster.check_exits()
        nodes = [n for n in self.cluster.nodes if n.member or n.running()]
        self.rng.shuffle(nodes)
        if not self.round:
            self.round = list(self.groups)
            self.rng.shuffle(self.round)
        kind = self.rng.choice(GROUPS[self.round.pop()])
        getattr(self, "do_" + kind.replace("-", "_"))(nodes)

    def do_isolate(self, nodes):
        self.heal_network()
        for other in nodes[1:]:
            self.cut(nodes[0], other)
            self.cut(other, nodes[0])
        self.partition("isolate %s" % nodes[0].name)

    def do_split(self, nodes):
        self.heal_network()
        k = self.rng.randrange(1, len(nodes) // 2 + 1)
        for a in nodes[:k]:
            for b in nodes[k:]:
                self.cut(a, b)
                self.cut(b, a)
        self.partition("%s | %s" % ([n.name for n in nodes[:k]], [n.name for n in nodes[k:]]))

    def do_ring(self, nodes):
        self.heal_network()
        # Each node keeps its nearest neighbours on both sides, as few as still let it see a majority (itself
        # included), so neighbours see different majorities.
        n = len(nodes)
        reach = (n // 2 + 1) // 2
        for i in range(n):
            for j in range(i + 1, n):
                if min(j - i, n - (j - i)) > reach:
                    self.cut(nodes[i], nodes[j])
                    self.cut(nodes[j], nodes[i])
        self.partition("majorities ring %s" % [x.name for x in nodes])

    def do_asymmetric(self, nodes):
        self.heal_network()
        for other in nodes[1:]:
            self.cut(nodes[0], other)
        self.partition("%s cannot send (asymmetric)" % nodes[0].name)

    def partition(self, what):
        self.note("partition: " + what)
        self.begin("net", "partition", what)

    def do_heal(self, nodes):
        self.heal_network()
        self.note("partition: healed")

    # --- processes ---
    def do_kill(self, nodes):
        victim = next((n for n in nodes if n.running() and not n.paused), None)
        if victim:
            self.cluster.kill(victim)
            self.note("process: SIGKILL %s" % victim.name)
            self.begin("down:" + victim.name, "kill", "SIGKILL " + victim.name)

    def do_restart(self, nodes):
        victim = next((n for n in nodes if not n.running() and n.member), None)
        if victim:
            self.cluster.start(victim)
            self.note("process: restart %s" % victim.name)
            self.end("down:" + victim.name)

    def do_pause(self, nodes):
        victim = next((n for n in nodes if n.running() and not n.paused), None)
        if victim:
            self.cluster.pause(victim, True)
            self.note("process: SIGSTOP %s" % victim.name)
            self.begin("pause:" + victim.name, "pause", "SIGSTOP " + victim.name)

    def do_resume(self, nodes):
        victim = next((n for n in nodes if n.paused), None)
        if victim:
            self.cluster.pause(victim, False)
            self.note("process: SIGCONT %s" % victim.name)
            self.end("pause:" + victim.name)

    def do_power(self, nodes):
        """One node, or a majority of the members at the same moment (a rack losing power), lose power and come
        back after a short outage with whatever their disks really held."""
        members = [n for n in nodes if n.member and n.running()]
        if not members:
            return
        many = self.rng.random() < 0.4
        victims = members[:len(members) // 2 + 1] if many else members[:1]
        if self.power_victims == "all":  # the whole cluster at once: a data-centre outage
            victims, many = members, True
        for v in victims:
            self.cluster.kill(v)
        names = " ".join(v.name for v in victims)
        self.note("power loss: %s%s" % (names, " (every member)" if len(victims) == len(members) > 1
                                            else " (a majority at once)" if many else ""))
        for v in victims:
            model = self.power_model or self.rng.choice(["pessimistic", "torn", "reordered"])
            self.begin("down:" + v.name, "power", "power loss " + v.name)
            self.note("power loss: %s: %s" % (v.name, self.cluster.cut_power(v, model, self.rng.randrange(1 << 30))))
        time.sleep(self.rng.uniform(0.5, 2.0))
        for v in victims:
            self.cluster.start(v)
            self.end("down:" + v.name)
        self.note("power restored: %s" % names)

    # --- clocks ---
    def do_clock(self, nodes):
        """One node's clocks misbehave: its wall clock steps or drifts (libfaketime), or its Raft timers run fast
        or slow, jump ahead (as after a suspended VM: timeouts fire at once) or stall (the clock set back)."""
        victim = next((n for n in nodes if n.running()), None)
        if not victim:
            return
        what = self.rng.choice(["wall", "rate", "jump", "stall"])
        if what == "wall":
            spec = self.rng.choice(["+%ds" % self.rng.randrange(5, 600), "-%ds" % self.rng.randrange(5, 600),
                                    "+%dd" % self.rng.randrange(1, 400), "+0 x%g" % self.rng.choice([0.25, 4, 10])])
            self.cluster.set_clock(victim, spec)
            desc = "wall clock %s" % spec
        elif what == "rate":
            rate = self.rng.choice([0.25, 0.5, 2, 4, 10])
            self.cluster.set_timer_clock(victim, rate, victim.timer_offset_ms)
            desc = "Raft timers run x%g" % rate
        elif what == "jump":
            jump = self.rng.randrange(2, 60)
            self.cluster.set_timer_clock(victim, victim.timer_rate, victim.timer_offset_ms + jump * 1000)
            desc = "Raft timers jump %d s ahead" % jump
        else:
            stall = self.rng.randrange(2, 20)
            self.cluster.set_timer_clock(victim, victim.timer_rate, victim.timer_offset_ms - stall * 1000)
            desc = "Raft timers set back %d s (they stall)" % stall
        self.note("clock: %s %s" % (victim.name, desc))
        self.begin("clock:" + victim.name, "clock", "%s %s" % (victim.name, desc))

    def do_clock_reset(self, nodes):
        victim = next((n for n in nodes if "clock:" + n.name in self.open), None)
        if victim:
            self.reset_clocks(victim)
            self.note("clock: %s clocks reset" % victim.name)
            self.end("clock:" + victim.name)

    def reset_clocks(self, node):
        # The timer offset stays where it is: moving it back would be one more jump.
        self.cluster.set_clock(node, "+0")
        self.cluster.set_timer_clock(node, 1.0, node.timer_offset_ms)

    def do_stall_leader(self, nodes):
        """The leader's timers stall and it is cut off from every other node: lease reads (which trust the
        leader's clock) go stale; ReadIndex reads (which ask a quorum) cannot be answered."""
        leader_http = self.cluster.leader_http()
        leader = next((n for n in self.cluster.nodes if n.http == leader_http), None)
        if leader is None or not leader.running():
            return
        self.cluster.set_timer_clock(leader, leader.timer_rate, leader.timer_offset_ms - 30000)
        self.heal_network()
        for other in self.cluster.nodes:
            if other is not leader:
                self.cut(leader, other)
                self.cut(other, leader)
        self.note("clock: %s (the leader) Raft timers set back 30 s, and isolated" % leader.name)
        self.begin("clock:" + leader.name, "clock", "%s timers stalled" % leader.name)
        self.begin("net", "partition", "isolate %s" % leader.name)

    def do_unstall(self, nodes):
        self.heal_network()
        for n in self.cluster.nodes:
            if "clock:" + n.name in self.open:
                self.reset_clocks(n)
                self.end("clock:" + n.name)
        self.note("partition: healed; clocks reset")

    # --- membership ---
    def do_remove(self, nodes):
        members = [n for n in nodes if n.member]
        if len(members) <= 3:
            return
        victim = members[0]
        ok, detail = self.cluster.through_leader("DELETE", "/members/" + victim.name, timeout=15)
        self.note("membership: remove %s: %s" % (victim.name, "done" if ok else "not done: " + detail))
        if ok:
            victim.member = False
            self.cluster.wipe(victim)
            self.end("down:" + victim.name)
            self.end("pause:" + victim.name)
            self.begin("out:" + victim.name, "membership", "%s removed" % victim.name)

    def do_add(self, nodes):
        outside = [n for n in self.cluster.nodes if not n.member and not n.running()]
        via = [n for n in self.cluster.nodes if n.member and n.running() and not n.paused]
        if not outside or not via:
            return
        newcomer, contact = self.rng.choice(outside), self.rng.choice(via)
        self.cluster.wipe(newcomer)
        newcomer.join_via = contact.raft
        newcomer.member = True
        self.cluster.start(newcomer)
        self.note("membership: %s joins through %s" % (newcomer.name, contact.name))
        self.end("out:" + newcomer.name)

    def heal_all(self):
        """Every fault undone: network healed, processes resumed and restarted, clocks reset."""
        self.cluster.check_exits()
        self.heal_network()
        for n in self.cluster.nodes:
            if n.paused:
                self.cluster.pause(n, False)
            if n.running() or n.member:
                self.reset_clocks(n)
            if not n.running() and n.member:
                self.cluster.start(n)
        self.end_all()
        self.note("heal: network healed, every member running, clocks reset")
