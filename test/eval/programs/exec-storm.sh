#!/bin/bash
# An exec storm from a script with a name of its own: runs /bin/true, 2 ms
# apart, for $2 seconds, and keeps how many it ran in the file $1.
# The pause is bash's own `read -t` on a FIFO nobody writes (no exec).
fifo=$(mktemp -u) && mkfifo "$fifo" && exec 3<>"$fifo" && rm -f "$fifo"
end=$((SECONDS + $2))
n=0
while ((SECONDS < end)); do
	/bin/true
	n=$((n + 1))
	echo "$n" >"$1"
	read -r -t 0.002 -u 3 || true
done
