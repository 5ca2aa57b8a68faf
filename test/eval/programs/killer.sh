#!/bin/bash
# A misconfigured watchdog: every 300 ms it SIGKILLs the newest pid in the
# file $1 (a supervisor's children), for $3 seconds; the kills it made go to the file $2.
n=0
end=$((SECONDS + $3))
while ((SECONDS < end)); do
	sleep 0.3
	mapfile -t pids <"$1" 2>/dev/null || continue
	pid=${pids[-1]:-}
	if [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null; then
		n=$((n + 1))
		echo "$n" >"$2"
	fi
done
