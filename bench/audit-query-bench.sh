#!/bin/bash
# bench/audit-query-bench.sh - afs-audit over a large log, in MB/s, against
# grep -c and jq over the same file in the same run.
#
#   bench/audit-query-bench.sh [RECORDS]     (default 1,000,000: ~200 MB)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-1000000}
LOG=${BENCH_DIR:-/var/tmp}/afs-audit-bench.log

[ -x "$TOP/build/afs-audit" ] || { echo "audit-query-bench: build afs-audit first" >&2; exit 1; }
if [ ! -f "$LOG" ] || [ "$(wc -l <"$LOG")" != "$N" ]; then
	awk -v n="$N" 'BEGIN {
		split("open lookup create readdir rename", ops, " ");
		split("allow allow allow deny", dec, " ");
		srand(1);
		for (i = 0; i < n; i++)
			printf "{\"v\":1,\"ts\":\"2026-11-26T10:%02d:%02d.%06dZ\",\"mount\":\"m1\",\"pid\":%d,\"uid\":1000,\"comm\":\"python3\",\"op\":\"%s\",\"path\":\"/src/d%d/f%d.py\",\"mode\":\"r\",\"decision\":\"%s\",\"rule\":\"/etc/afs/p.yaml:%d\",\"bytes\":%d}\n",
				int(i / 60000) % 60, int(i / 1000) % 60, i % 1000000, 1000 + i % 50,
				ops[1 + int(rand() * 5)], i % 100, i % 977, dec[1 + int(rand() * 4)], i % 30, i % 5000
	}' >"$LOG"
fi
size=$(stat -c %s "$LOG")
cat "$LOG" >/dev/null	# warm: compare parsing, not the disk
echo "# $N records, $((size >> 20)) MiB, warm"
run() {	# run NAME CMD
	local t0 t1 out
	t0=$(date +%s%N)
	out=$(eval "$2" | wc -l)
	t1=$(date +%s%N)
	printf '%-40s %8d lines %7d ms %6d MB/s\n' "$1" "$out" $(((t1 - t0) / 1000000)) \
		$((size * 1000 / (t1 - t0)))
}
run "afs-audit --decision deny" "'$TOP/build/afs-audit' --format json --decision deny '$LOG'"
run "afs-audit --path '/src/d7/**'" "'$TOP/build/afs-audit' --format json --path '/src/d7/**' '$LOG'"
run "afs-audit --regex '^/src/d7/'" "'$TOP/build/afs-audit' --format json --regex '^/src/d7/' '$LOG'"
run "afs-audit --summary" "'$TOP/build/afs-audit' --summary '$LOG'"
run "grep -c '\"decision\":\"deny\"'" "grep '\"decision\":\"deny\"' '$LOG'"
command -v jq >/dev/null &&
	run "jq -c 'select(.decision==\"deny\")'" "jq -c 'select(.decision==\"deny\")' '$LOG'"
