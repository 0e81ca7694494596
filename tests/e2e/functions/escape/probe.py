"""Tries to break out of its sandbox. Each probe returns what happened; tests/e2e/escape_test.py
asserts the outcome. Run only inside Gust's sandbox."""
import ctypes
import errno
import os
import shutil
import signal
import socket
import stat
import subprocess
import time

libc = ctypes.CDLL(None, use_errno=True)
_kept = []  # objects that must outlive one invocation (the warm instance keeps them)


def name(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def try_read(path):
    try:
        with open(path, "rb") as f:
            f.read(1)
        return "read"
    except OSError as e:
        return name(e)


def try_write(path):
    try:
        with open(path, "wb") as f:
            f.write(b"x")
        return "written"
    except OSError as e:
        return name(e)


def syscall(nr, *args):
    rc = libc.syscall(nr, *args)
    return "ok" if rc >= 0 else errno.errorcode.get(ctypes.get_errno(), "?")


def probe_files(event):
    paths = list(event.get("paths", [])) + [
        "/etc/shadow", "/root/.bashrc", "/proc/1/root/etc/passwd", "/proc/1/environ",
        "/var/task/../../../etc/shadow", "/sys/kernel/notes"]
    os.symlink("/etc/shadow", "/tmp/link-out")
    paths.append("/tmp/link-out")
    result = {"read": {p: try_read(p) for p in paths}, "root": sorted(os.listdir("/"))}
    os.remove("/tmp/link-out")
    return result


def probe_processes(event):
    out = {"pids": sorted(p for p in os.listdir("/proc") if p.isdigit()),
           "self": str(os.getpid()), "ppid": os.getppid()}
    for label, pid in (("host_pid", event["host_pid"]), ("init", 1)):
        try:
            os.kill(pid, 0)
            out["kill_" + label] = "ok"
        except OSError as e:
            out["kill_" + label] = name(e)
    return out


def probe_writes(event):
    dirs = ["/", "/usr", "/usr/bin", "/var/task", "/var/runtime", "/etc", "/dev", "/tmp"]
    out = {d: try_write(os.path.join(d, "escape-probe")) for d in dirs}
    os.remove("/tmp/escape-probe")
    return out


def probe_fill_tmp(event):
    written, error = 0, None
    chunk = b"x" * (1 << 20)
    try:
        with open("/tmp/fill", "wb") as f:
            for _ in range(4096):
                f.write(chunk)
                f.flush()
                written += len(chunk)
    except OSError as e:
        error = name(e)
    files = 0
    try:
        for i in range(100000):  # inodes too
            open(f"/tmp/small-{i}", "w").close()
            files += 1
    except OSError as e:
        files_error = name(e)
    else:
        files_error = None
    os.remove("/tmp/fill")
    for i in range(files):
        os.remove(f"/tmp/small-{i}")
    return {"written": written, "error": error, "files_error": files_error}


def probe_network(event):
    out = {"interfaces": [n for _, n in socket.if_nameindex()]}
    targets = {"host_loopback": ("127.0.0.1", event["port"]), "test_net": ("192.0.2.1", 80)}
    for label, addr in targets.items():
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect(addr)
            out[label] = "connected"
        except OSError as e:
            out[label] = name(e) if e.errno else type(e).__name__
        finally:
            s.close()
    for label, family, kind, proto in (("raw", socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
                                       ("vsock", 40, socket.SOCK_STREAM, 0)):
        try:
            socket.socket(family, kind, proto).close()
            out[label] = "created"
        except OSError as e:
            out[label] = name(e)
    return out


def probe_fork_bomb(event):
    children, error = [], None
    for _ in range(10000):
        try:
            pid = os.fork()
        except OSError as e:
            error = name(e)
            break
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return {"forked": len(children), "error": error}


def probe_memory_bomb(event):
    chunks = []
    for _ in range(10000):
        chunks.append(bytearray(16 << 20))  # touched: bytearray zero-fills
    return {"allocated_mb": 16 * len(chunks)}


def probe_syscalls(event):
    buf = ctypes.create_string_buffer(8)
    iov = (ctypes.c_void_p * 2)(ctypes.cast(buf, ctypes.c_void_p), 8)
    return {
        "ptrace_attach_init": syscall(101, 16, 1, 0, 0),
        "ptrace_traceme": syscall(101, 0, 0, 0, 0),
        "process_vm_readv": syscall(310, 1, iov, 1, iov, 1, 0),
        "proc_1_mem": try_read("/proc/1/mem"),
        "mount": syscall(165, b"none", b"/tmp", b"tmpfs", 0, None),
        "umount": syscall(166, b"/tmp", 2),
        "unshare_user": syscall(272, 0x10000000),
        "unshare_mount": syscall(272, 0x00020000),
        "clone_newuser": syscall(56, 0x10000000 | 17, 0, 0, 0, 0),
        "clone3": syscall(435, 0, 0),
        "setns": syscall(308, 0, 0),
        "chroot": syscall(161, b"/tmp"),
        "pivot_root": syscall(155, b"/tmp", b"/tmp"),
        "bpf": syscall(321, 0, 0, 0),
        "io_uring_setup": syscall(425, 1, 0),
        "keyctl": syscall(250, 0, 0),
        "add_key": syscall(248, b"user", b"x", b"x", 1, -2),
        "perf_event_open": syscall(298, 0, 0, -1, -1, 0),
        "userfaultfd": syscall(323, 0),
        "personality_read_implies_exec": syscall(135, 0x0400000),
        "settimeofday": syscall(164, 0, 0),
        "clock_settime": syscall(227, 0, 0),
        "sethostname": syscall(170, b"evil", 4),
        "setdomainname": syscall(171, b"evil", 4),
        "init_module": syscall(175, 0, 0, b""),
        "kexec_load": syscall(246, 0, 0, 0, 0),
        "reboot": syscall(169, 0xfee1dead, 672274793, 0x1234567, 0),
        "tiocsti": syscall(16, 0, 0x5412, ctypes.byref(ctypes.c_char(b"x"))),
    }


def probe_setuid(event):
    out = {}
    try:
        os.setuid(0)
        out["setuid0"] = "ok"
    except OSError as e:
        out["setuid0"] = name(e)
    setuid_binaries = [p for p in ("/usr/bin/mount", "/usr/bin/su", "/usr/bin/passwd")
                       if os.path.exists(p) and os.stat(p).st_mode & stat.S_ISUID]
    out["setuid_binaries"] = setuid_binaries
    if "/usr/bin/mount" in setuid_binaries:
        r = subprocess.run(["/usr/bin/mount", "-t", "tmpfs", "none", "/tmp"],
                           capture_output=True, text=True, timeout=10)
        out["mount_exit"] = r.returncode
    # A setuid copy in /tmp: nosuid, and the copy is ours anyway.
    shutil.copy("/usr/bin/id", "/tmp/id")
    os.chmod("/tmp/id", 0o4755)
    r = subprocess.run(["/tmp/id", "-u"], capture_output=True, text=True, timeout=10)
    out["tmp_setuid_euid"] = r.stdout.strip()
    out["exec_from_tmp"] = r.returncode
    os.remove("/tmp/id")
    return out


def probe_kill(event):
    out = {}
    for label, pid in (("init", 1), ("all", -1)):
        try:
            os.kill(pid, signal.SIGKILL)
            out[label] = "ok"
        except OSError as e:
            out[label] = name(e)
    return out


def probe_sleep(event):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if os.fork() == 0:  # a double fork that tries to outlive the sandbox
        os.setsid()
        if os.fork() == 0:
            os.execv("/usr/bin/sleep", ["sleep", event["marker"]])
        os._exit(0)
    time.sleep(event["seconds"])
    return {"slept": True}


def probe_huge_result(event):
    return "x" * (20 << 20)


def probe_log_flood(event):
    line = "y" * 1023 + "\n"
    with open(1, "w", closefd=False) as out:
        for _ in range(event.get("mib", 50) * 1024):
            out.write(line)
    return {"flooded": True}


def probe_fds(event):
    fds = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            fds[fd] = None  # the listing's own fd, closed by now
    return fds


def probe_status(event):
    status = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            status[key] = value.strip()
    return {"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(),
            "groups": os.getgroups(), "status": status}


def probe_plant(event):
    """Leaves a file in /tmp and an abstract socket for another function to find."""
    with open("/tmp/planted-secret", "w") as f:
        f.write("secret")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind("\0gust-escape-probe")
    s.listen(1)
    _kept.append(s)
    return {"planted": True}


def probe_look(event):
    out = {"tmp": sorted(os.listdir("/tmp"))}
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect("\0gust-escape-probe")
        out["abstract"] = "connected"
    except OSError as e:
        out["abstract"] = name(e)
    return out


def probe_x32(event):
    libc.syscall(0x40000000 + 39)  # getpid through the x32 ABI
    return {"survived": True}


def probe_hello(event):
    return {"hello": True, "pid": os.getpid()}


def handler(event, context):
    return globals()["probe_" + event["probe"]](event)
