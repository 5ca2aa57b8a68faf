#!/bin/bash
# An exec storm from a script with a name of its own: runs /bin/true back to
# back for $2 seconds, and keeps how many it ran in the file $1.
end=$((SECONDS + $2))
n=0
while ((SECONDS < end)); do
	/bin/true
	n=$((n + 1))
	echo "$n" >"$1"
done
