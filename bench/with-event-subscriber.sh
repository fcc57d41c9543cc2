#!/usr/bin/env bash
# Runs the gateway command given (compare.sh pins it to the server's CPU) and one StreamOrderEvents
# subscriber (bench/event-subscriber.ts) on the load generator's CPU, so the subscriber's own work
# does not count as the server's. compare.sh stops the whole process group.
set -u
"$@" &
server=$!
taskset -c 1 node_modules/.bin/node --import tsx bench/event-subscriber.ts &
wait "$server"
