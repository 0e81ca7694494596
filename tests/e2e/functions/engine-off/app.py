def handler(event, context):
    return "unreachable: reserved_concurrency 0 throttles every invocation"
