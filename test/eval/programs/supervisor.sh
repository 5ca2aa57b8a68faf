#!/bin/sh
# A supervisor in the style of systemd's Restart=always: starts "$@" again
# 100 ms after each end, for $2 seconds; each child's pid goes to the file $1.
pids=$1
end=$(($(date +%s) + $2))
shift 2
while [ "$(date +%s)" -lt "$end" ]; do
	"$@" &
	echo $! >>"$pids"
	wait $!
	sleep 0.1
done
