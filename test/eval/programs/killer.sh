#!/bin/sh
# A misconfigured watchdog: every 300 ms it SIGKILLs the newest pid in the
# file $1 (a supervisor's children), for $3 seconds; the kills it made go to the file $2.
n=0
end=$(($(date +%s) + $3))
while [ "$(date +%s)" -lt "$end" ]; do
	sleep 0.3
	pid=$(tail -n 1 "$1" 2>/dev/null)
	if [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; then
		n=$((n + 1))
		echo "$n" >"$2"
	fi
done
