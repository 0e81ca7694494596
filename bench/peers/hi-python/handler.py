# The handler every contender of bench/gateway_bench.py serves (Python).
def handler(event, context):
    return {"statusCode": 200, "body": "hi"}
