# Gust's exec runtime: runs the function's executable once per invocation. The event JSON goes
# to its stdin, its stdout is the result (must be JSON), its stderr goes to the logs; a non-zero
# exit, non-JSON output or a missed deadline is a function error. Talks to the host over fd 3
# with the frame protocol of api/runtime-protocol.md (the Python bootstrap's Channel). Standard
# library only.
import json
import os
import signal
import subprocess
import sys
import time

# The frame protocol comes from the Python runtime's bootstrap, mounted beside this file.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "python"))
from bootstrap import ERROR, INIT_ERROR, INIT_OK, INVOKE, RESULT, Channel  # noqa: E402

MAX_RESULT_BYTES = 6 * 1024 * 1024 + 100
# The child is killed this long before the host's own deadline, so the timeout is reported by
# us, with the child's output, instead of by the host killing the whole instance.
DEADLINE_MARGIN_S = 0.05


def error_body(error_type, message):
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode("utf-8")


def resolve_executable(task_root, handler):
    """The handler as a path under the task root; an error message if it cannot run."""
    if not handler or handler.startswith("/") or ".." in handler.split("/"):
        return None, ("handler '{}' must be the path of an executable relative to the code "
                      "directory, e.g. handler.sh or bin/fn".format(handler))
    path = os.path.join(task_root, handler)
    if not os.path.isfile(path):
        return None, "handler '{}' not found in the code directory".format(handler)
    if not os.access(path, os.X_OK):
        return None, ("handler '{}' is not executable: set its execute bit (chmod +x) before "
                      "deploying".format(handler))
    return path, None


def run_once(path, task_root, env, body, deadline_s):
    """Runs the executable; (ftype, body) of the reply."""
    try:
        child = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=None, cwd=task_root, env=env, start_new_session=True)
    except OSError as e:
        return ERROR, error_body("Runtime.InvalidEntrypoint",
                                 "cannot run {}: {}".format(os.path.basename(path), e.strerror))
    timeout = max(deadline_s - time.time() - DEADLINE_MARGIN_S, 0.001)
    try:
        out, _ = child.communicate(body, timeout=timeout)
    except subprocess.TimeoutExpired:
        # Its own session: the executable and whatever it started go together.
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        child.communicate()
        return ERROR, error_body("Sandbox.Timedout",
                                 "{} did not exit before the deadline and was killed".format(
                                     os.path.basename(path)))
    name = os.path.basename(path)
    if child.returncode != 0:
        how = ("exit status {}".format(child.returncode) if child.returncode > 0 else
               "signal {}".format(signal.Signals(-child.returncode).name))
        return ERROR, error_body("Runtime.ExitError",
                                 "{} failed with {}; its stderr is in the logs".format(name, how))
    if len(out) > MAX_RESULT_BYTES:
        return ERROR, error_body(
            "Function.ResponseSizeTooLarge",
            "Response payload size exceeded maximum allowed payload size ({} bytes).".format(
                MAX_RESULT_BYTES))
    text = out.strip()
    try:
        json.loads(text)
    except ValueError:
        preview = text[:200].decode("utf-8", "replace")
        return ERROR, error_body(
            "Runtime.InvalidResponse",
            "{} wrote a result that is not JSON: {!r}; write exactly one JSON value to stdout "
            "and logs to stderr".format(name, preview))
    return RESULT, text


def main():
    channel = Channel(3)
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    handler = os.environ.get("_HANDLER", "")
    path, problem = resolve_executable(task_root, handler)
    if problem:
        sys.stderr.write("[ERROR] Runtime.InvalidEntrypoint: {}\n".format(problem))
        channel.send(INIT_ERROR, 0, error_body("Runtime.InvalidEntrypoint", problem))
        sys.exit(1)
    channel.send(INIT_OK, 0)

    while True:
        frame = channel.read_frame()
        if frame is None:
            return  # the host closed the channel: stop
        ftype, seq, meta, body = frame
        if ftype != INVOKE:
            sys.stderr.write("gust runtime: unexpected frame type {}\n".format(ftype))
            sys.exit(2)
        meta = json.loads(meta) if meta else {}
        env = dict(os.environ)
        env["AWS_LAMBDA_REQUEST_ID"] = meta.get("request_id", "")
        env["AWS_LAMBDA_DEADLINE_MS"] = str(meta.get("deadline_ms", 0))
        env["AWS_LAMBDA_INVOKED_FUNCTION_ARN"] = meta.get("invoked_function_arn", "")
        if meta.get("trace_id"):
            env["_X_AMZN_TRACE_ID"] = meta["trace_id"]
        deadline_s = int(meta.get("deadline_ms", 0)) / 1000.0
        reply_type, reply = run_once(path, task_root, env, body or b"{}", deadline_s)
        channel.send(reply_type, seq, reply)


if __name__ == "__main__":
    main()
