def run(event, context):
    print("about to fail")
    raise ValueError("bad input: " + str(event.get("x")))
