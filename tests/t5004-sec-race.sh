#!/bin/bash
# Security under concurrency: 8 processes in the sandbox race renames,
# unlinks, creates, symlink flips and listings in the writable /out
# against lookups and opens of hidden names (/out/.env, /secret.txt, ...)
# for 30 s (10 s with AFS_QUICK set), while the host rewrites the secrets
# under the live mount.  Not one read of the secret's bytes, not one hidden
# name listed, created, renamed or removed, and the audit log (-a) holds no
# `allow` for a hidden path.  Then: hostile names and a hostile comm
# cannot forge or break audit records.
. "$(dirname "$0")/lib.sh"
base_afs=$(grep -c " fuse.afs " /proc/mounts)

ATTACK=$B/tests/helpers/attack
if [ ! -x "$ATTACK" ]; then
	not_ok "the attack helper is built ($ATTACK: run make build/tests/helpers/attack)"
	exit 1
fi

DUR=30
[ -n "${AFS_QUICK:-}" ] && DUR=10
MARK="AFS-SECRET-MARKER-$$-$RANDOM"
src=$T/src delta=$T/delta pol=$T/pol.yaml audit=$T/audit.log
mkdir -p "$src/tools" "$src/hidden" "$src/docs" "$src/out"
cp "$ATTACK" "$src/tools/attack-$$"
echo "$MARK" >"$src/secret.txt"
echo "$MARK" >"$src/hidden/x"
echo "$MARK" >"$src/docs/.env"
echo readme >"$src/docs/readme.md"
echo "$MARK" >"$src/out/.env"
echo ok >"$src/out/ok.txt"
cat >"$pol" <<'EOF'
version: 1
rules:
  - pattern: "**"
    permission: read
  - pattern: /out/**
    permission: write
    priority: 10
  - pattern: /secret.txt
    permission: none
  - pattern: /hidden
    type: directory
    permission: none
  - pattern: "**/hidden/**"
    permission: none
    priority: 100
  - pattern: "**/.env*"
    permission: none
    priority: 100
EOF

# The host side: rewrite every secret in place and by rename, make and
# remove hidden names, for the whole race.
(
	end=$((SECONDS + DUR + 2))
	while [ $SECONDS -lt $end ]; do
		echo "$MARK" >"$src/secret.txt"
		echo "$MARK" >"$src/out/.env.tmp"
		mv -f "$src/out/.env.tmp" "$src/out/.env"
		echo "$MARK" >"$src/out/.env.local"
		echo "$MARK" >"$src/hidden/x"
		echo "$MARK" >"$src/docs/.env"
		rm -f "$src/out/.env.local"
		sleep 0.005
	done
) &
writer=$!
at_exit_kill "$writer"

s0=$(date +%s)
timeout $((DUR + 60)) afs-launch -s "$src" -p "$pol" -d "$delta" -a "$audit" -t $((DUR + 30)) \
	-- /workspace/tools/attack-$$ race "$DUR" "$MARK" >"$T/race.out" 2>"$T/race.err"
rc=$?
el=$(($(date +%s) - s0))
wait "$writer"

is "the race ran to its end (exit 0, ${el}s for ${DUR}s)" "0 race: done" "$rc $(tail -n 1 "$T/race.out")"
is "all 8 racers ran, and made operations" 8 "$(grep -c '^racer [0-7]: ops=many ' "$T/race.out")"
diag "$(sed 's/^/  /' "$T/race.err" | head -n 8)"
leaks=$(grep '^LEAK' "$T/race.out")
if [ -z "$leaks" ]; then
	ok "no leak in $DUR s: no hidden name opened, listed, made, renamed or removed"
else
	not_ok "no leak in $DUR s: no hidden name opened, listed, made, renamed or removed"
	diag "$(printf '%s\n' "$leaks" | sort | uniq -c | sort -rn | head -n 20)"
fi
if grep -qF "$MARK" "$T/race.out" "$T/race.err"; then
	not_ok "the secret's bytes appear nowhere in the output"
	diag "$(grep -F "$MARK" "$T/race.out" "$T/race.err" | head -n 5)"
else
	ok "the secret's bytes appear nowhere in the output"
fi
bad=$(grep '^racer' "$T/race.out" | grep -v 'unexpected=0$')
if [ -z "$bad" ]; then
	ok "every refusal had the errno of afs-fuse(1) LEVELS AND ERRORS (EACCES to make, ENOENT to reach)"
else
	not_ok "every refusal had the errno of afs-fuse(1) LEVELS AND ERRORS (EACCES to make, ENOENT to reach)"
	diag "$bad" "$(grep '^UNEXPECTED' "$T/race.out" | sort | uniq -c | head -n 10)"
fi

# ---- the audit log of the race -------------------------------------------------------------
HID='^/(secret\\.txt|hidden(/.*)?|out/hidden(/.*)?)$|(^|/)\\.env[^/]*$'
lines=$(wc -l <"$audit")
objs=$(jq -c . "$audit" 2>/dev/null | wc -l)
is "audit: every one of its $lines lines is one JSON object" "$lines" "$objs"
allow=$(jq -c --arg re "$HID" 'select(.decision == "allow" and
	(((.path // "") | test($re)) or ((.to // "") | test($re))))' "$audit" 2>&1 | head -n 5)
is "audit: no allow decision for a hidden path" "" "$allow"
is "audit: the hidden lookups were recorded as hide" yes \
	"$(jq -e -s 'any(.[]; .op == "lookup" and .decision == "hide" and .path == "/out/.env")' \
		"$audit" >/dev/null 2>&1 && echo yes)"
is "audit: the renames onto .env were recorded as deny" yes \
	"$(jq -e -s 'any(.[]; .op == "rename" and .decision == "deny" and .to == "/out/.env")' \
		"$audit" >/dev/null 2>&1 && echo yes)"

# ---- the host and the delta afterwards ------------------------------------------------------
is "host: every hidden file is still there, holding the secret" "$MARK $MARK $MARK $MARK" \
	"$(cat "$src/secret.txt" "$src/out/.env" "$src/hidden/x" "$src/docs/.env" | tr '\n' ' ' | sed 's/ $//')"
is "delta: no hidden name, no whiteout of one" "" \
	"$(find "$delta" \( -name '.env*' -o -name '.wh..env*' -o -name hidden -o -name .wh.hidden \
		-o -name .wh.secret.txt -o -name secret.txt -o -name stolen -o -name stolen2 \) | sed "s|^$delta||")"
if grep -rqF "$MARK" "$delta" 2>/dev/null; then
	not_ok "delta: the secret's bytes are in no file of it"
	diag "$(grep -rlF "$MARK" "$delta" | head -n 5)"
else
	ok "delta: the secret's bytes are in no file of it"
fi
run afs-launch -s "$src" -p "$pol" -d "$delta" -- /workspace/tools/attack-$$ cat /workspace/out/.env
is "after the race: /out/.env is still ENOENT" ENOENT "$(cat "$T/out")"
run afs-launch -s "$src" -p "$pol" -d "$delta" -- /workspace/tools/attack-$$ ls /workspace/out
case " $(cat "$T/out") " in
*" .env"* | *" hidden "* | *" stolen"*) not_ok "after the race: /out lists no hidden name"; diag "$(cat "$T/out")" ;;
*) ok "after the race: /out lists no hidden name" ;;
esac

# ---- hostile names and comm against the audit log --------------------------------------------
audit2=$T/audit2.log
run afs-launch -s "$src" -p "$pol" -d "$T/delta2" -a "$audit2" -- /workspace/tools/attack-$$ evil-names
is "hostile names: made in /out (quotes, newlines, backslashes, control bytes, bad UTF-8)" \
	"made 6, secret ENOENT" "$(cat "$T/out")"
lines=$(wc -l <"$audit2")
objs=$(jq -c . "$audit2" 2>/dev/null | wc -l)
is "hostile names: every one of the $lines audit lines is one JSON object" "$lines" "$objs"
is "hostile names: no record forged (no allow for /secret.txt)" "" \
	"$(jq -c 'select(.path == "/secret.txt" and .decision != "hide")' "$audit2" 2>&1)"
is "hostile names: the newline name is one create record, path escaped" 1 \
	"$(jq -c 'select(.op == "create" and (.path | startswith("/out/nl\n{")))' "$audit2" 2>/dev/null | wc -l)"
is "hostile names: the hostile comm is one string field, intact" true \
	"$(jq -s 'map(select(.op == "lookup" and .path == "/secret.txt")) | .[0].comm == "x\"\n{\"v\":1,"' \
		"$audit2" 2>&1)"

# A program on the mount: its records must name it from its first one on.
# (afs-fuse caches a pid's comm for a second, and the pid had its
# parent's name when it opened its own binary to exec it.)
audit3=$T/audit3.log
run afs-launch -s "$src" -p "$pol" -a "$audit3" -- /workspace/tools/attack-$$ create-burst /workspace/out 50
is "audit: a program on the mount is refused 50 creates of .env names" "refused 50 of 50" "$(cat "$T/out")"
c=$(jq -r 'select(.op == "create") | .comm' "$audit3" 2>&1 | sort | uniq -c | sed 's/^ *//' | tr '\n' ' ')
is "audit: its 50 deny records name that program (comm attack-$$)" "50 attack-$$ " "$c"
[ "$c" = "50 attack-$$ " ] ||
	diag "the records name: $c(the comm the pid had before its exec: the sandbox's init)"

is "no sandbox process is left" "" "$(pgrep -a -u 65534 -f "tools/attack-$$")"
is "no afs mount is left" "$base_afs" "$(grep -c " fuse.afs " /proc/mounts)"
