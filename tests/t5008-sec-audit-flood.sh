#!/bin/bash
# The audit log cannot fill the disk (SECURITY.md 6): afs-fuse writes it
# outside the sandbox's limits, so a sandbox looping on a refused call
# (open(".env", O_CREAT) under a 3.8 KB path wrote 40 GB an hour) gets its
# repeats folded into one record a second with a count, and
# --audit-max-bytes caps what is left; nothing is dropped silently: the
# counts add up to every call made.
. "$(dirname "$0")/lib.sh"

src=$T/src mnt=$T/mnt
mkdir -p "$mnt" "$src"
# A directory path of about 3.8 KB, as an attacker would pick.
deep=$src
for i in $(seq 19); do deep=$deep/$(printf '%0200d' "$i"); done
mkdir -p "$deep"
rel=${deep#"$src"/}
flood='
import os, sys, time
paths, secs = sys.argv[1].split(","), float(sys.argv[2])
n = 0
t = time.time()
while time.time() - t < secs:
    for p in paths:
        try:
            os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError:
            n += 1
print(n)'

# --- one refused call in a loop: a record a second --------------------------------------
afs_mount "$src" "$mnt" -p development -a "$T/one.log" || exit 1
made=$(cd "$mnt" && python3 -c "$flood" "$rel/.env" 3)
afs_umount "$mnt"
lines=$(wc -l <"$T/one.log")
bytes=$(wc -c <"$T/one.log")
if [ "$lines" -le 8 ] && [ "$made" -gt 1000 ]; then
	ok "$made refused creates in 3 s: $lines records, $bytes bytes"
else
	not_ok "$made refused creates in 3 s: $lines records, $bytes bytes (8 at most)"
fi
if [ "$bytes" -lt 52000 ]; then ok "... under 1 MB a minute ($bytes bytes in 3 s)"
else not_ok "... under 1 MB a minute ($bytes bytes in 3 s)"; fi
is "... and the counts add up to every call" "$made" \
	"$(jq -s '[.[] | select(.op == "create") | (.count // 1)] | add' "$T/one.log")"
is "... which afs-audit --summary counts" "$made" \
	"$(afs-audit --summary "$T/one.log" | awk '$1 == "create" && $2 == "deny" { print $3 }')"
is "... the repeats' record names the call, with its count" 'create deny EACCES true' \
	"$(jq -r 'select(.count) | "\(.op) \(.decision) \(.errno) \(.path | endswith("/.env"))"' "$T/one.log" | sort -u)"

# --- two calls in turn: no folding, the cap holds ------------------------------------------
afs_mount "$src" "$mnt" -p development -a "$T/cap.log" --audit-max-bytes 64K || exit 1
made=$(cd "$mnt" && python3 -c "$flood" "$rel/.env,$rel/.env2" 1)
sleep 0.5
size=$(wc -c <"$T/cap.log")
if [ "$size" -le 65536 ]; then ok "--audit-max-bytes 64K: the log holds $size bytes"
else not_ok "--audit-max-bytes 64K: the log holds $size bytes"; fi
afs_umount "$mnt"
is "at unmount: one audit-dropped record, last, with its count and since" "audit-dropped true true" \
	"$(tail -n1 "$T/cap.log" | jq -r '"\(.op) \(.count > 0) \(.since != null)"')"
is "... the records kept and the count dropped add up to every call" "$made" \
	"$(jq -s '([.[] | select(.op == "create") | (.count // 1)] | add) + ([.[] | select(.op == "audit-dropped") | .count] | add // 0)' "$T/cap.log")"
is "afs-fuse said so on stderr, once" 1 "$(grep -c 'holds --audit-max-bytes' "$T/fuse.err")"

# --- rotation by copytruncate: the note first, then records again -------------------------------
# (Short paths here: a dropped record that stood for many events counts
# them all, and the records must fit the cap around the rotation.)
: >"$T/fuse.err"
afs_mount "$src" "$mnt" -p development -a "$T/rot.log" --audit-max-bytes 8K || exit 1
made=$(cd "$mnt" && python3 -c "$flood" ".env,.env2" 0.5)
sleep 0.5
cp "$T/rot.log" "$T/rot.log.1" && : >"$T/rot.log"
(cd "$mnt" && python3 -c "$flood" ".env3" 0.1) >/dev/null
sleep 0.5
afs_umount "$mnt"
is "after copytruncate: the log starts with what was dropped before" "audit-dropped" \
	"$(head -n1 "$T/rot.log" | jq -r .op)"
is "... then records again" "create" "$(sed -n 2p "$T/rot.log" | jq -r .op)"
is "... the old part and the note add up to every call of the first flood" "$made" \
	"$(cat "$T/rot.log.1" "$T/rot.log" | jq -s '([.[] | select(.op == "create" and .path != "/.env3") | (.count // 1)] | add) + ([.[] | select(.op == "audit-dropped") | .count] | add // 0)')"

run afs-fuse --audit-max-bytes lots "$src" "$mnt"
is "--audit-max-bytes takes a size" "2 afs-fuse: bad --audit-max-bytes 'lots' (a size such as 100M or 2G, or 0)" \
	"$rc $(cat "$T/err")"
