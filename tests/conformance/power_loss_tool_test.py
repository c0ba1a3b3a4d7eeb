#!/usr/bin/env python3
"""raftkit-power-loss on a real traced process: a Python child writes files under the recorder (LD_PRELOAD), some
synced and some not, and is SIGKILLed; the tool must leave exactly what was made durable, and its rewritten trace
must let a second traced run and a second power loss build on that state.

  power_loss_tool_test.py BUILD_DIR
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

CHILD = r'''
import os, sys, time
root, step = sys.argv[1], sys.argv[2]
def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
if step == "1":
    with open(os.path.join(root, "a"), "wb") as f:
        f.write(b"durable")
        f.flush(); os.fsync(f.fileno())
    fsync_dir(root)
    with open(os.path.join(root, "b"), "wb") as f:      # never synced: gone
        f.write(b"lost")
    with open(os.path.join(root, "a"), "ab") as f:      # appended, not synced: gone
        f.write(b"-unsynced")
    os.mkdir(os.path.join(root, "d"))                  # its entry in root never synced: gone with its content
    with open(os.path.join(root, "d", "c"), "wb") as f:
        f.write(b"orphan")
        f.flush(); os.fsync(f.fileno())
    fsync_dir(os.path.join(root, "d"))
else:
    with open(os.path.join(root, "a"), "ab") as f:      # a file that existed before this trace: appended, synced
        f.write(b"+second")
        f.flush(); os.fsync(f.fileno())
    with open(os.path.join(root, "a"), "ab") as f:
        f.write(b"-unsynced-again")
print("ready", flush=True)
time.sleep(60)
'''


def run_child(build, root, trace, step):
    env = dict(os.environ, LD_PRELOAD=os.path.join(build, "libraftkit_iotrace.so"), RAFTKIT_IOTRACE_ROOT=root,
               RAFTKIT_IOTRACE_FILE=trace)
    child = subprocess.Popen([sys.executable, "-c", CHILD, root, step], stdout=subprocess.PIPE, env=env, text=True)
    assert child.stdout.readline().strip() == "ready", "the traced child did not get ready"
    child.send_signal(signal.SIGKILL)
    child.wait()
    r = subprocess.run([os.path.join(build, "raftkit-power-loss"), "--root", root, "--trace", trace, "--model",
                        "pessimistic"], capture_output=True, text=True)
    assert r.returncode == 0, "raftkit-power-loss failed: " + r.stderr
    print(r.stdout.strip())


def tree(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = f.read()
        for name in dirnames:
            out[os.path.relpath(os.path.join(dirpath, name), root) + "/"] = None
    return out


def main():
    build = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        root, trace = os.path.join(tmp, "data"), os.path.join(tmp, "trace")
        os.makedirs(root)
        run_child(build, root, trace, "1")
        after_first = tree(root)
        assert after_first == {"a": b"durable"}, "after the first power loss: %r" % after_first
        run_child(build, root, trace, "2")
        after_second = tree(root)
        assert after_second == {"a": b"durable+second"}, "after the second power loss: %r" % after_second
    print("power-loss tool: synced data kept, unsynced data and unsynced directory entries lost, twice")


if __name__ == "__main__":
    main()
