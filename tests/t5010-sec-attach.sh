#!/bin/bash
# Security: what the sandbox writes on its terminal reaches the person who
# attaches to the session only as text and drawing: no sequence that makes
# the terminal answer into its input (device status and attributes, the
# title report, DECRQSS, XTVERSION, colour and font queries, ENQ), set or
# read the clipboard (OSC 52), set the title, or switch to VT52, in 7-bit or
# C1 form, whole or split over two writes; --raw shows all.  And the
# sandbox's terminal is the session's pty, never the person's.  A real pty
# (python3's pty module) stands for the person's terminal; the bytes that
# reach it are compared exactly.
. "$(dirname "$0")/lib.sh"

if ! command -v python3 >/dev/null; then
	skip "attach" "python3 missing"
	exit 0
fi
U=64128
export AFS_RUNTIME_DIR=$T/rt TMPDIR=$T/tmp
src=$T/src
mkdir -p "$src" "$TMPDIR"
chmod 0711 "$T"
trap 'afs-session stop at1 >/dev/null 2>&1; _cleanup; exit $?' EXIT

# attach.py OUT [--raw] -- CMD...: attach to at1 on a new pty, run each CMD
# with afs-session exec while attached, detach (Ctrl-]), and write all that
# reached the pty to OUT.
cat >"$T/attach.py" <<'EOP'
import os, pty, select, subprocess, sys, time
out, raw, cmds = sys.argv[1], sys.argv[2] == '--raw', sys.argv[sys.argv.index('--') + 1:]
m, s = pty.openpty()
env = dict(os.environ, LANG='C.UTF-8')
env.pop('LC_ALL', None)
env.pop('LC_CTYPE', None)
err = open(out + '.err', 'w')
p = subprocess.Popen(['afs-session', 'attach'] + (['--raw'] if raw else []) + ['at1'],
                     stdin=s, stdout=s, stderr=err, env=env)
got = b''
def pump(secs):
    global got
    end = time.time() + secs
    while time.time() < end:
        r, _, _ = select.select([m], [], [], 0.05)
        if r:
            try:
                got += os.read(m, 65536)
            except OSError:
                return
for _ in range(100):
    if 'attached' in open(out + '.err').read():
        break
    time.sleep(0.05)
pump(0.3)
for c in cmds:
    subprocess.run(['afs-session', 'exec', 'at1', c], env=env)
    pump(0.2)
os.write(m, b'\x1d')
p.wait(timeout=10)
pump(0.2)
open(out, 'wb').write(got)
print(os.stat(os.ttyname(s)).st_rdev)
EOP
# between FILE N: the bytes between <N< and >N> in FILE, in hex.
between() {
	python3 -c 'import sys
d = open(sys.argv[1], "rb").read()
a, b = ("<%s<" % sys.argv[2]).encode(), (">%s>" % sys.argv[2]).encode()
i = d.find(a)
print(d[i + len(a):d.find(b, i)].hex() if i >= 0 and d.find(b, i) > 0 else "missing")' "$@"
}
hex() { printf "$1" | od -An -tx1 | tr -d ' \n'; }

run afs-session start --name at1 --uid $U --gid $U -s "$src" -p agent-safe
is "a session starts" "0 at1" "$rc $(cat "$T/out")"

# Each case: a name, what the sandbox writes (printf format), what must
# reach the terminal (printf format).
cases=(
	"OSC 52 sets the clipboard|\\033]52;c;ZWNobyBvd25lZAo=\\a|"
	"OSC 52 asks for the clipboard (ST)|\\033]52;c;?\\033\\\\|"
	"OSC 0 and 2 set the title|\\033]0;t1\\a\\033]2;t2\\033\\\\|"
	"CSI 21 t reports the title, 14 t the size, 8 t resizes|\\033[21t\\033[14t\\033[8;1;1t|"
	"DA, DA2, DSR 5 n and 6 n answer|\\033[c\\033[>c\\033[5n\\033[6n|"
	"DECRQSS and XTGETTCAP (DCS) answer|\\033P\$qm\\033\\\\\\033P+q544e\\033\\\\|"
	"OSC 50 (font), 10 and 4 (colours) queries|\\033]50;?\\a\\033]10;?\\a\\033]4;1;?\\a|"
	"DECRQM, XTVERSION, kitty's keyboard query answer|\\033[?2026\$p\\033[>0q\\033[?u|"
	"ENQ (answerback) and ESC Z (DECID)|a\\005b\\033Zc|abc"
	"VT52 mode (DECANM), alone or among others|\\033[?2l\\033[?25;02l|"
	"C1 CSI and OSC in UTF-8: introducers dropped|\\302\\23321t\\302\\23552;c;?\\a|21t52;c;?\\a"
	"APC, PM and SOS strings|\\033_x\\033\\\\\\033^y\\033\\\\\\033Xz\\033\\\\|"
	"colours, cursor, erase, modes, charset, cursor shape pass|\\033[1;31mr\\033[0m\\033[2J\\033[H\\033[?1049h\\033[?25l\\033(0q\\033(B\\033[2 q\\033[>4;2m\\0337\\0338|\\033[1;31mr\\033[0m\\033[2J\\033[H\\033[?1049h\\033[?25l\\033(0q\\033(B\\033[2 q\\033[>4;2m\\0337\\0338"
	"UTF-8 text passes, continuation bytes 0x80-0x9f included|\\303\\251\\342\\202\\254\\304\\233\\302\\251|\\303\\251\\342\\202\\254\\304\\233\\302\\251"
	"a lone 0xc2 cannot be completed later into a C1 control|\\302\\030\\302\\234\\214x|x"
)
cmds=()
for i in "${!cases[@]}"; do
	IFS='|' read -r _ w _ <<<"${cases[$i]}"
	cmds+=("printf '<$i<$w>$i>' >/dev/tty")
done
n=${#cases[@]}
# Split over two writes: the filter keeps its state.
cmds+=("printf '<$n<\\033]52;c;' >/dev/tty; sleep 0.2; printf 'aGk=\\a\\033[2' >/dev/tty; sleep 0.2; printf '1tx>$n>' >/dev/tty")
# The sandbox's controlling terminal, from its /proc.
cmds+=("printf '<tty<%s>tty>' \"\$(cut -d' ' -f7 /proc/self/stat)\" >/dev/tty")
rdev=$(python3 "$T/attach.py" "$T/cap" - -- "${cmds[@]}")
for i in "${!cases[@]}"; do
	IFS='|' read -r desc _ want <<<"${cases[$i]}"
	is "attach: $desc" "$(hex "$want")" "$(between "$T/cap" "$i")"
done
is "attach: a sequence split over two writes is still dropped" "$(hex x)" "$(between "$T/cap" "$n")"
tty=$(between "$T/cap" tty | xxd -r -p)
if [ -n "$tty" ] && [ -n "$rdev" ] && [ "$tty" != "$rdev" ] && [ "$tty" != 0 ]; then
	ok "attach: the sandbox's terminal is the session's pty, not the person's ($tty, $rdev)"
else
	not_ok "attach: the sandbox's terminal is the session's pty, not the person's"; diag "sandbox: $tty person: $rdev"
fi

rdev=$(python3 "$T/attach.py" "$T/rawcap" --raw -- "printf '<r<\\033]52;c;aGk=\\a\\033[21t>r>' >/dev/tty")
is "attach --raw: everything, as the sandbox wrote it" "$(hex '\033]52;c;aGk=\a\033[21t')" "$(between "$T/rawcap" r)"
run afs-session attach --raw </dev/null
is "attach --raw without a name: usage, 2" "2 afs-session: usage: afs-session attach [--raw] NAME" "$rc $(cat "$T/err")"
