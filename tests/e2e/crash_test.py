"""A kill -9 of the server leaves no sandbox, process or cgroup behind once it is restarted."""
import json
import os
import signal
import time
import unittest

from gustserver import GustServer, example

IS_ROOT = os.geteuid() == 0


def descendants(root):
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def cgroup_dirs(pid):
    """The v1/v2 cgroup directories a process sits in (below the hierarchy roots)."""
    dirs = []
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for name in (controllers.split(",") if controllers else []):
                base = f"/sys/fs/cgroup/{name}"
                if os.path.isdir(base + path) and "gust-" in path:
                    dirs.append(base + path)
            if not controllers and "gust-" in path:
                for base in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
                    if os.path.isdir(base + path):
                        dirs.append(base + path)
    return dirs


def wait_until(predicate, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@unittest.skipUnless(IS_ROOT, "the namespace sandbox needs root")
class CrashTest(unittest.TestCase):
    def test_kill_9_leaves_nothing_behind(self):
        server = GustServer().start()
        try:
            self.assertEqual(server.cli("deploy", example("hello-python")).returncode, 0)
            r = server.cli("invoke", "hello-python", "--payload", '{"name": "before"}')
            self.assertEqual(r.returncode, 0, r.stderr)
            sandboxed = [p for p in descendants(server.proc.pid) if alive(p)]
            self.assertTrue(sandboxed, "a warm instance should be running")
            groups = sorted({d for p in sandboxed for d in cgroup_dirs(p)})
            self.assertTrue(groups, "sandboxes should sit in Gust's cgroups")

            server.proc.send_signal(signal.SIGKILL)
            server.proc.wait(timeout=30)
            server.proc.stdout.close()
            server.log.close()
            server.proc = None
            self.assertTrue(wait_until(lambda: not any(alive(p) for p in sandboxed)),
                            "sandbox processes outlived the server: "
                            + str([p for p in sandboxed if alive(p)]))

            server.start()
            leftovers = [d for d in groups if os.path.isdir(d)]
            self.assertEqual(leftovers, [], "cgroups of the killed server were not removed")
            r = server.cli("invoke", "hello-python", "--payload", '{"name": "after"}')
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads(r.stdout), {"message": "Hello, after!"})
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
