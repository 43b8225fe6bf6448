# One afs-launch over a codebase volume, as a Nomad batch job with the
# docker driver (afs:0.1.0, make image).  The policy is a template; the
# delta and the audit log go to the allocation's directory (/alloc, which
# the docker driver always mounts: the Kubernetes Job's /out), and the log is
# printed to stdout at the end (nomad alloc logs).  The Nomad client must
# let jobs add SYS_ADMIN and pass /dev/fuse (see contrib/nomad/README.md);
# the privileges are the least that work under docker (tests/t9202 runs
# them, and takes each away in turn: contrib/k8s/README.md says why).
# Not run on a cluster here: tests/t9203 checks that its command and
# policy are the Kubernetes Job's, which tests/t9202 runs under docker.
job "afs-agent-run" {
  type = "batch"

  group "afs" {
    restart {
      attempts = 0
      mode     = "fail"
    }

    volume "codebase" {
      type      = "host"
      source    = "codebase"
      read_only = true
    }

    task "afs" {
      driver = "docker"

      config {
        image      = "afs:0.1.0"
        force_pull = false
        entrypoint = ["/usr/bin/tini", "--"]
        args = [
          "sh",
          "-c",
          "afs-launch -s /src -p /etc/afs/policy/policy.yaml -d /alloc/delta -a /alloc/audit.log --name agent -c \"$AFS_COMMAND\"; st=$?; afs-audit --format json /alloc/audit.log; exit $st",
        ]
        cap_add      = ["SYS_ADMIN"]
        security_opt = ["seccomp=unconfined", "systempaths=unconfined", "apparmor=unconfined"]
        devices = [
          {
            host_path      = "/dev/fuse"
            container_path = "/dev/fuse"
          }
        ]
        mount {
          type     = "bind"
          source   = "local/policy"
          target   = "/etc/afs/policy"
          readonly = true
        }
      }

      volume_mount {
        volume      = "codebase"
        destination = "/src"
        read_only   = true
      }

      env {
        AFS_COMMAND = "ls -la; cat README.md"
      }

      template {
        destination = "local/policy/policy.yaml"
        data        = <<-POLICY
          version: 1
          extends: agent-safe
          rules:
            - pattern: "output/**"
              permission: write
        POLICY
      }

      resources {
        cpu    = 2000
        memory = 2048
      }
    }
  }
}
