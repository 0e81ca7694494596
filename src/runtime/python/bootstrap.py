# Gust's Python runtime: loads the function's handler, then serves invocations from the host over
# fd 3 with the frame protocol of api/runtime-protocol.md. Standard library only. The context
# object, error shapes and log lines follow AWS's Python runtime interface client (awslambdaric)
# so that code written for Lambda behaves the same here.
import decimal
import importlib
import json
import logging
import os
import struct
import sys
import time
import traceback

HEADER = struct.Struct("<IBBHQ")  # length, type, flags, meta_length, seq
INIT, INIT_OK, INIT_ERROR, INVOKE, RESULT, ERROR, READY = 1, 2, 3, 4, 5, 6, 7
# Lambda's response limit; the host rejects frames beyond this plus room for metadata.
MAX_RESULT_BYTES = 6 * 1024 * 1024 + 100


class FaultException(Exception):
    """An error of the runtime's own (bad handler, unmarshallable result) with a Lambda type."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


class Channel:
    """The host's end of the socketpair, moved off fd 3 so that user subprocesses never see it."""

    def __init__(self, fd):
        self.fd = os.dup(fd)  # non-inheritable (close-on-exec) by Python's default
        os.close(fd)

    def read_exact(self, n):
        chunks = []
        while n > 0:
            chunk = os.read(self.fd, min(n, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def read_frame(self):
        header = self.read_exact(HEADER.size)
        if header is None:
            return None
        length, ftype, _flags, meta_length, seq = HEADER.unpack(header)
        payload = self.read_exact(length) if length else b""
        if payload is None:
            return None
        return ftype, seq, payload[:meta_length], payload[meta_length:]

    def send(self, ftype, seq, body=b"", meta=b""):
        # Output printed before the reply must reach the host's pipes before the reply does.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        data = HEADER.pack(len(meta) + len(body), ftype, 0, len(meta), seq) + meta + body
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]


def make_error(error_message, error_type, request_id, stack_trace):
    return {
        "errorMessage": error_message if error_message else "",
        "errorType": error_type if error_type else "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace if stack_trace is not None else [],
    }


def user_stack_trace(tb):
    """traceback.format_list of the user's frames: the leading frames of this file are dropped."""
    frames = traceback.extract_tb(tb)
    for i, frame in enumerate(frames):
        if not frame.filename.endswith("/bootstrap.py"):
            return traceback.format_list(frames[i:])
    return []


def error_from_exception(exc, request_id):
    if isinstance(exc, FaultException):
        return make_error(exc.message, exc.error_type, request_id, exc.trace)
    return make_error(str(exc), type(exc).__name__, request_id,
                      user_stack_trace(exc.__traceback__))


def log_error(error):
    """Prints an error the way Lambda's Python runtime does: "[ERROR] Type: message" + trace."""
    description = "[ERROR]"
    if error.get("errorType"):
        description += " " + error["errorType"]
    if error.get("errorMessage"):
        if error.get("errorType"):
            description += ":"
        description += " " + error["errorMessage"]
    lines = [description]
    stack_trace = error.get("stackTrace")
    if stack_trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack_trace:
            if element == "":
                lines.append("")
            else:
                lines.extend(element.splitlines())
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()


def load_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException("Runtime.MalformedHandlerName",
                             "Bad handler '{}': {}".format(handler, str(e)))
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                "Runtime.BuiltInModuleConflict",
                "Cannot use built-in module {} as a handler module".format(modname))
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException("Runtime.ImportModuleError",
                             "Unable to import module '{}': {}".format(modname, str(e)))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException("Runtime.UserCodeSyntaxError",
                             "Syntax error in module '{}': {}".format(modname, str(e)), trace)
    try:
        return getattr(module, fname)
    except AttributeError:
        raise FaultException("Runtime.HandlerNotFound",
                             "Handler '{}' missing on module '{}'".format(fname, modname))


class CognitoIdentity:
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]


class Client:
    __slots__ = ["installation_id", "app_title", "app_version_name", "app_version_code",
                 "app_package_name"]


class ClientContext:
    __slots__ = ["custom", "env", "client"]


def make_obj_from_dict(cls, values):
    if values is None:
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, values.get(field, None))
    return obj


class LambdaContext:
    def __init__(self, invoke_id, client_context, cognito_identity, epoch_deadline_time_in_ms,
                 invoked_function_arn=None, tenant_id=None):
        self.aws_request_id = invoke_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self.client_context = make_obj_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = make_obj_from_dict(Client, self.client_context.client)
        self.identity = make_obj_from_dict(CognitoIdentity, {})
        if cognito_identity is not None:
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")
        self._epoch_deadline_time_in_ms = epoch_deadline_time_in_ms

    def get_remaining_time_in_millis(self):
        epoch_now_in_ms = int(time.time() * 1000)
        delta_ms = self._epoch_deadline_time_in_ms - epoch_now_in_ms
        return delta_ms if delta_ms > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return ("LambdaContext([aws_request_id={},log_group_name={},log_stream_name={},"
                "function_name={},memory_limit_in_mb={},function_version={},"
                "invoked_function_arn={},client_context={},identity={},tenant_id={}])").format(
                    self.aws_request_id, self.log_group_name, self.log_stream_name,
                    self.function_name, self.memory_limit_in_mb, self.function_version,
                    self.invoked_function_arn, self.client_context, self.identity, self.tenant_id)


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record):
        record.aws_request_id = _RequestIdFilter.request_id
        return True


def install_logging():
    """The root logger handler of Lambda's Python runtime (its plain-text format, UTC)."""
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
        "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.terminator = ""
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


def _json_default(obj):
    if isinstance(obj, decimal.Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    raise TypeError("Object of type {} is not JSON serializable".format(type(obj).__name__))


def marshal(result):
    try:
        return json.dumps(result, default=_json_default).encode("utf-8")
    except (TypeError, ValueError, OverflowError, RecursionError) as e:
        raise FaultException("Runtime.MarshalError", "Unable to marshal response: {}".format(e))


def handle_invoke(channel, handler, seq, meta, body):
    request_id = meta.get("request_id", "")
    _RequestIdFilter.request_id = request_id
    if meta.get("trace_id"):
        os.environ["_X_AMZN_TRACE_ID"] = meta["trace_id"]
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    try:
        try:
            event = json.loads(body) if body else {}
        except ValueError as e:
            raise FaultException("Runtime.UnmarshalError",
                                 "Unable to unmarshal input: {}".format(e))
        client_context = meta.get("client_context")
        cognito_identity = meta.get("cognito_identity")
        context = LambdaContext(
            request_id,
            json.loads(client_context) if client_context else None,
            json.loads(cognito_identity) if cognito_identity else None,
            int(meta.get("deadline_ms", 0)),
            meta.get("invoked_function_arn"),
            meta.get("tenant_id"))
        result = marshal(handler(event, context))
        if len(result) > MAX_RESULT_BYTES:
            raise FaultException(
                "Function.ResponseSizeTooLarge",
                "Response payload size exceeded maximum allowed payload size ({} bytes).".format(
                    MAX_RESULT_BYTES))
    except Exception as e:
        error = error_from_exception(e, request_id)
        log_error(error)
        channel.send(ERROR, seq, json.dumps(error).encode("utf-8"))
        return
    channel.send(RESULT, seq, result)


def await_init(channel):
    """Deferred init: the instance started before its function was known. Waits for INIT, whose
    environment replaces ours (the sandbox's TMPDIR is kept unless INIT sets one), then enters the
    task root, where the host has mounted the code since we started. False if the host closed
    the channel first."""
    channel.send(READY, 0)
    frame = channel.read_frame()
    if frame is None:
        return False
    ftype, _seq, meta, _body = frame
    if ftype != INIT:
        sys.stderr.write("gust runtime: expected INIT, got frame type {}\n".format(ftype))
        sys.exit(2)
    env = json.loads(meta).get("env", {}) if meta else {}
    tmpdir = os.environ.get("TMPDIR")
    os.environ.clear()
    os.environ.update(env)
    if tmpdir is not None and "TMPDIR" not in env:
        os.environ["TMPDIR"] = tmpdir
    time.tzset()
    # Our working directory is the empty mount point beneath the code.
    os.chdir(os.environ.get("LAMBDA_TASK_ROOT", "/var/task"))
    importlib.invalidate_caches()
    return True


def main():
    channel = Channel(3)
    # Unbuffered enough that print() reaches the logs promptly, as on Lambda.
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    install_logging()

    # Everything above ran before the function was known; from here on it is the function's.
    if "--deferred-init" in sys.argv[1:] and not await_init(channel):
        return

    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    # -I ignores PYTHONPATH; Lambda honours it after the task root, so add it by hand.
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(":") if p]
    sys.path[0:0] = [task_root] + extra

    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
    except Exception as e:
        error = error_from_exception(e, None)
        log_error(error)
        channel.send(INIT_ERROR, 0, json.dumps(error).encode("utf-8"))
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
        handle_invoke(channel, handler, seq, json.loads(meta) if meta else {}, body)


if __name__ == "__main__":
    main()
