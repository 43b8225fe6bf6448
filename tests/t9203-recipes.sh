#!/bin/bash
# The cluster recipes (contrib/k8s, contrib/nomad) as far as this machine
# can check them without a cluster: the YAML parses; the CronJob's
# container is the Job's (tests/t9202 runs the Job's under docker); the
# Nomad job's command and policy are the Job's, with
# its allocation directory (/alloc) for the Job's /out volume, and with the
# least privileges that work under docker (which t9202 runs).
. "$(dirname "$0")/lib.sh"

python3 -c 'import yaml' 2>/dev/null || { skip "the cluster recipes" "python3-yaml is missing (make deps)"; exit 0; }
run python3 - "$TOP/contrib/k8s/afs-job.yaml" "$TOP/contrib/k8s/afs-cronjob.yaml" \
	"$TOP/contrib/nomad/afs.nomad.hcl" <<'PY'
import json, re, sys, yaml
job_docs = list(yaml.safe_load_all(open(sys.argv[1])))
cron = yaml.safe_load(open(sys.argv[2]))
hcl = open(sys.argv[3]).read()
kinds = sorted(d["kind"] for d in job_docs)
print("kinds", " ".join(kinds), cron["kind"])
cm = next(d for d in job_docs if d["kind"] == "ConfigMap")
job = next(d for d in job_docs if d["kind"] == "Job")
jc = job["spec"]["template"]["spec"]["containers"][0]
cc = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
same = {k: jc[k] == cc[k] for k in ("image", "command", "args", "securityContext",
                                      "volumeMounts")}
print("cron same", all(same.values()), [k for k, v in same.items() if not v])
print("cron policy", cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"][1]
      == job["spec"]["template"]["spec"]["volumes"][1])
# Nomad: the values of its config block, read with regexes (no HCL parser
# here), compared with the Job's.
def hlist(name):
    m = re.search(r"\b%s\s*=\s*\[(.*?)\]" % name, hcl, re.S)
    return json.loads("[" + re.sub(r",\s*$", "", m.group(1).strip()) + "]")
args = hlist("args")
k8s = [a.replace("/out/", "/alloc/") for a in jc["args"]]
print("nomad args", args == k8s)
print("nomad entrypoint", hlist("entrypoint") == jc["command"])
print("nomad caps", hlist("cap_add") == ["SYS_ADMIN"])
print("nomad security_opt", hlist("security_opt") == ["seccomp=unconfined",
                                                      "systempaths=unconfined",
                                                      "apparmor=unconfined"])
print("nomad fuse", 'host_path      = "/dev/fuse"' in hcl)
print("nomad image", re.search(r'image\s*=\s*"([^"]+)"', hcl).group(1) == jc["image"])
pol = re.search(r"<<-POLICY\n(.*?)\n\s*POLICY", hcl, re.S).group(1)
import textwrap
print("nomad policy", textwrap.dedent(pol).strip() == cm["data"]["policy.yaml"].strip())
PY
status_is "the recipes parse" 0
[ "$rc" = 0 ] || diag "$(cat "$T/err")"
is "afs-job.yaml: a ConfigMap and a Job; afs-cronjob.yaml: a CronJob" "kinds ConfigMap Job CronJob" \
	"$(grep '^kinds' "$T/out")"
is "the CronJob's container is the Job's (command, image, privileges, mounts)" "cron same True []" \
	"$(grep '^cron same' "$T/out")"
is "the CronJob takes the Job's policy ConfigMap" "cron policy True" "$(grep '^cron policy' "$T/out")"
for k in args entrypoint image policy; do
	is "the Nomad job's $k: the Job's" "nomad $k True" "$(grep "^nomad $k " "$T/out")"
done
for k in caps security_opt fuse; do
	is "the Nomad job's $k: the least privileges (t9202 runs them)" "nomad $k True" \
		"$(grep "^nomad $k " "$T/out")"
done
