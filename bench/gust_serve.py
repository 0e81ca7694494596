"""Starts `gust serve` for a benchmark: loopback, a free port, its data under a work directory."""
import os
import re
import subprocess
import sys


def start(gust_bin, work, *extra_args):
    """Starts `gust serve --listen 127.0.0.1:0 ...EXTRA_ARGS` with its data in WORK/gust-data and
    returns (process, port, data dir, API token). The process leads its own process group."""
    data = os.path.join(work, "gust-data")
    os.makedirs(data)
    os.chmod(work, 0o711)  # the sandboxes' users reach the code under it
    os.chmod(data, 0o711)
    proc = subprocess.Popen([gust_bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", data,
                             "--log-level", "warn", *extra_args], stdout=subprocess.PIPE,
                            start_new_session=True)
    line = proc.stdout.readline().decode()
    m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
    if not m:
        proc.kill()
        sys.exit(f"gust serve did not start: {line!r}")
    with open(os.path.join(data, "token")) as f:
        token = f.read().strip()
    return proc, int(m.group(1)), data, token
