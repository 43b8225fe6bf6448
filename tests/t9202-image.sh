#!/bin/bash
# The OCI image (make image): built from Debian's packages and the .deb by
# mmdebstrap, imported into dockerd, and run the way the Kubernetes Job of
# contrib/k8s/afs-job.yaml runs it: its command, environment, mounts and
# privileges are read from that file.  Then each privilege taken away in
# turn, to show it is needed.  The image is removed at the end.
. "$(dirname "$0")/lib.sh"

# The packages are built from the tree's sources, not from the build under
# test: .ci/run's sanitizer pass sets AFS_TEST_PACKAGES=0.
if [ "${AFS_TEST_PACKAGES:-1}" = 0 ]; then
	diag "the OCI image: not tested again (AFS_TEST_PACKAGES=0)"
	exit 0			# 1..0: a file skipped whole, even in CI
fi

[ "$(id -u)" = 0 ] || { skip "the OCI image" "needs root"; exit 0; }
for p in mmdebstrap dpkg-buildpackage python3; do
	command -v "$p" >/dev/null || { skip "the OCI image" "$p is missing (make deps)"; exit 0; }
done
python3 -c 'import yaml' 2>/dev/null || { skip "the OCI image" "python3-yaml is missing (make deps)"; exit 0; }
docker_up || { skip "the OCI image" "no dockerd"; exit 0; }

tag=afs-test-image:$$
trap 'st=$?; docker rmi -f "$tag" >/dev/null 2>&1; _cleanup $st; exit $?' EXIT

run env AFS_IMAGE_TAG="$tag" make -C "$TOP" --no-print-directory image B="$T/b"
status_is "make image" 0
[ "$rc" = 0 ] || diag "$(tail -n 30 "$T/out" "$T/err")"
is "the image is tagged" "$tag" "$(tail -n 1 "$T/out")"
size=$(docker image inspect -f '{{.Size}}' "$tag")
diag "image size: $((size / 1048576)) MiB"
is "its root is Debian 12's" "12" "$(docker run --rm --network none "$tag" sh -c '. /etc/os-release; echo $VERSION_ID')"

# The Job's container, read from the manifest; the least privileges that
# work under docker, read from the Nomad job (whose docker driver takes
# them as they are).
python3 - "$TOP/contrib/k8s/afs-job.yaml" "$TOP/contrib/nomad/afs.nomad.hcl" >"$T/job" <<'PY'
import json, re, shlex, sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
hcl = open(sys.argv[2]).read()
cm = next(d for d in docs if d["kind"] == "ConfigMap")
job = next(d for d in docs if d["kind"] == "Job")
c = job["spec"]["template"]["spec"]["containers"][0]
def hlist(name):
    m = re.search(r"\b%s\s*=\s*\[(.*?)\]" % name, hcl, re.S)
    return json.loads("[" + re.sub(r",\s*$", "", m.group(1).strip()) + "]")
print("POLICY=%s" % shlex.quote(cm["data"]["policy.yaml"]))
print("ENTRY=%s" % shlex.quote(c["command"][0]))
print("ARGS=(%s)" % " ".join(shlex.quote(a) for a in c["command"][1:] + c["args"]))
print("ENVS=(%s)" % " ".join(shlex.quote("%s=%s" % (e["name"], e["value"])) for e in c["env"]))
print("PRIVILEGED=%s" % ("yes" if c["securityContext"].get("privileged") else "no"))
least = ["--device", "/dev/fuse"]
assert 'host_path      = "/dev/fuse"' in hcl
for cap in hlist("cap_add"):
    least += ["--cap-add", cap]
for o in hlist("security_opt"):
    least += ["--security-opt", o]
print("LEAST=(%s)" % " ".join(shlex.quote(a) for a in least))
print("MOUNTS=(%s)" % " ".join("%s:%s:%s" % (m["name"], m["mountPath"], "ro" if m.get("readOnly") else "rw")
                               for m in c["volumeMounts"]))
PY
. "$T/job"
is "the least privileges: /dev/fuse, SYS_ADMIN, no seccomp filter, proc unmasked, AppArmor off" \
	"--device /dev/fuse --cap-add SYS_ADMIN --security-opt seccomp=unconfined --security-opt systempaths=unconfined --security-opt apparmor=unconfined" \
	"${LEAST[*]}"

mkdir -p "$T/src/output" "$T/policy"
echo hello >"$T/src/README.md"
echo SECRET=1 >"$T/src/.env"
printf '%s' "$POLICY" >"$T/policy/policy.yaml"
run afs-fuse --check -p "$T/policy/policy.yaml"
status_is "the ConfigMap's policy passes afs-fuse --check" 0
chmod -R a+rX "$T/src"

# docker run with what the Job has: each mount at the manifest's path.
dock() {
	local out=$T/out-$1 a=() m name path mode host
	shift
	mkdir -p "$out"
	for m in "${MOUNTS[@]}"; do
		IFS=: read -r name path mode <<<"$m"
		case $name in
		src) host=$T/src ;;
		policy) host=$T/policy ;;
		out) host=$out ;;
		*) not_ok "a volume the test does not know: $name"; return 1 ;;
		esac
		a+=(-v "$host:$path:$mode")
	done
	for m in "${ENVS[@]}"; do a+=(-e "$m"); done
	docker run --rm --network none "${a[@]}" "$@" --entrypoint "$ENTRY" "$tag" "${ARGS[@]}"
}
check_run() {
	local what=$1 out=$T/out-$2
	status_is "$what: the container runs" 0
	[ "$rc" = 0 ] || diag "$(cat "$T/out" "$T/err")"
	is "$what: the command ran in the sandbox (ls, cat README.md)" "yes yes" \
		"$(grep -q ' README.md$' "$T/out" && echo yes) $(grep -qx hello "$T/out" && echo yes)"
	is "$what: .env is hidden from it" "" "$(grep ' \.env$' "$T/out")"
	is "$what: the audit log on stdout (JSON lines) and in the out volume" "yes yes" \
		"$(grep -q '"op":"exec"' "$T/out" && echo yes) $([ -s "$out/audit.log" ] && echo yes)"
}

is "the Job is privileged (README: procMount Unmasked needs user namespaces)" yes "$PRIVILEGED"
run dock job --privileged
if [ "$rc" = 125 ] && grep -q 'unable to apply caps' "$T/err"; then
	# This machine is itself a container without every capability: docker
	# cannot make a privileged one here (runc: "unable to apply caps").
	# What privileged gives includes the least set, which runs below.
	diag "the Job's container, privileged: not run: docker cannot make a" \
		"privileged container on this machine ($(grep -o 'unable to apply caps[^:]*' "$T/err" | head -n 1))"
else
	check_run "the Job's container, privileged" job
fi
run dock least "${LEAST[@]}"
check_run "with the least privileges" least

# Each of them is needed: without it the same container fails.
n=${#LEAST[@]}
i=0
while [ $i -lt "$n" ]; do
	fewer=("${LEAST[@]:0:$i}" "${LEAST[@]:$((i + 2))}")
	what="${LEAST[$i]} ${LEAST[$((i + 1))]}"
	i=$((i + 2))
	# Without AppArmor on this machine, its option changes nothing here.
	[ "$what" = "--security-opt apparmor=unconfined" ] && continue
	run dock "no$i" "${fewer[@]}"
	is "without $what: afs-launch cannot make the sandbox (125)" 125 "$rc"
done
