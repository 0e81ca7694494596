#!/bin/sh
# event.mode (matched as text: no JSON parser needed) picks the behaviour under test.
event=$(cat)
echo "probe stderr for $AWS_LAMBDA_REQUEST_ID" >&2
case "$event" in
  *'"fail"'*) echo "about to exit 3" >&2; exit 3 ;;
  *'"notjson"'*) echo "this is not json"; exit 0 ;;
  *'"sleep"'*) sleep 30; echo '{}' ;;
  *)
    printf '{"event": %s, "pid": %s, "ppid": %s, "cwd": "%s", "color": "%s", "fn": "%s", "request_id": "%s", "fd3": "%s"}\n' \
      "$event" "$$" "$PPID" "$(pwd)" "$COLOR" "$AWS_LAMBDA_FUNCTION_NAME" "$AWS_LAMBDA_REQUEST_ID" \
      "$(test -e /proc/self/fd/3 && echo yes || echo no)" ;;
esac
