import os

# Module state survives between invocations of a warm instance.
calls = 0


def handler(event, context):
    global calls
    calls += 1
    return {
        "event": event,
        "function_name": context.function_name,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "remaining_ms_positive": context.get_remaining_time_in_millis() > 0,
        "request_id": context.aws_request_id,
        "color": os.environ.get("COLOR"),
        "server_env_leaked": "GUST_E2E_SECRET" in os.environ,
        "pid": os.getpid(),
        "calls": calls,
    }
