#!/bin/sh
# Reads the event from stdin and answers with JSON on stdout; logs go to stderr.
event=$(cat)
echo "handling request $AWS_LAMBDA_REQUEST_ID" >&2
printf '{"message": "Hello from %s", "event": %s}\n' "$(uname -s)" "$event"
