"""from_local as the reference does it: what it skips (the default
ignores, .gitignore, .sandboxignore, ignore_patterns), preset=None,
auto_start, labels, owner_id, codebase_name; and afs's own extras on a
local directory: diff, commit, discard, audit."""
import os
import subprocess
import time

import pytest

import agentfense
from agentfense import Sandbox, SandboxClient, SandboxStatus

from conftest import tree_state, write_tree

FILES = {
    "README.md": "hello\n",
    "src/main.py": "print(1)\n",
    "src/__pycache__/main.cpython-311.pyc": "bytecode",
    "src/old.pyc": "bytecode",
    ".git/HEAD": "ref: refs/heads/main\n",
    "node_modules/left-pad/index.js": "pad\n",
    ".venv/bin/python": "py\n",
    ".env": "SECRET=1\n",
    ".env.example": "SECRET=\n",
    "pkg.egg-info/PKG-INFO": "info\n",
    ".gitignore": "/build\n*.log\n",
    ".sandboxignore": "private/\n",
    "build/out.o": "obj\n",
    "logs/app.log": "log\n",
    "logs/keep.txt": "keep\n",
    "private/notes.md": "notes\n",
    "data/big.csv": "1,2\n",
    "output": None,
}
VISIBLE = [".env.example", ".gitignore", ".sandboxignore", "README.md", "data", "logs",
           "output", "src"]


def test_from_local_skips_what_the_reference_skips(tmp_path):
    root = write_tree(tmp_path / "p", FILES)
    before = tree_state(root)
    with Sandbox.from_local(str(root), preset="read-only",
                            ignore_patterns=["*.csv"]) as sandbox:
        r = sandbox.run("LC_ALL=C ls -A; ls -A src; ls -A logs; ls -A data")
        assert r.stdout.split() == VISIBLE + ["main.py", "keep.txt"]
        for p in (".env", ".git/HEAD", "node_modules", ".venv", "src/old.pyc",
                  "src/__pycache__", "pkg.egg-info", "build/out.o", "logs/app.log",
                  "private/notes.md", "data/big.csv"):
            assert sandbox.run("test -e '%s'" % p).exit_code == 1, p
            with pytest.raises(agentfense.FileNotFoundError):
                sandbox.read_file(p)
        assert sandbox.list_files() == VISIBLE
        assert sandbox.list_files("src", recursive=True) == ["src/main.py"]
        # Hidden even from a rule that grants it.
    with Sandbox.from_local(str(root), preset="full-access", permissions=[
            {"pattern": "**/.env", "permission": "write", "priority": "999999"}]) as sandbox:
        assert sandbox.run("cat .env").exit_code == 1
        assert sandbox.codebase.file_count == 7
        assert (sandbox.codebase.file_count, sandbox.codebase.size) == agentfense.count_files(
            str(root))
    assert tree_state(root) == before


def test_from_local_options(tmp_path):
    root = write_tree(tmp_path / "proj", {"a.txt": "a\n"})
    sandbox = Sandbox.from_local(str(root), preset=None, auto_start=False,
                                 labels={"team": "x"}, owner_id="owner-1",
                                 codebase_name="named")
    try:
        assert sandbox.status == SandboxStatus.PENDING
        assert sandbox.info.labels == {"team": "x"}
        assert (sandbox.codebase.name, sandbox.codebase.owner_id) == ("named", "owner-1")
        assert (sandbox.codebase.file_count, sandbox.codebase.size) == (1, 2)
        # preset=None is view-only.
        assert [r.to_dict() for r in sandbox.info.permissions] == [
            {"pattern": "**/*", "type": "glob", "permission": "view", "priority": 0}]
        sandbox.start()
        assert sandbox.status == SandboxStatus.RUNNING
        r = sandbox.run("ls; cat a.txt")
        assert (r.stdout, r.exit_code) == ("a.txt\n", 1)
        assert SandboxClient().get_codebase(sandbox.codebase_id).name == "named"
    finally:
        sandbox.destroy()
    # Destroyed with its codebase record; the directory stays.
    assert SandboxClient().list_codebases() == []
    assert root.joinpath("a.txt").read_text() == "a\n"


def test_default_codebase_name_and_owner(tmp_path):
    root = write_tree(tmp_path / "my-project", {"a.txt": "a"})
    with Sandbox.from_local(str(root)) as sandbox:
        assert sandbox.codebase.name == "my-project"
        assert sandbox.codebase.owner_id == agentfense.generate_owner_id()


def test_diff_commit_discard(tmp_path):
    root = write_tree(tmp_path / "p", {"README.md": "hello\n", "src/a.py": "a\n",
                                       "src/b.py": "b\n"})
    with Sandbox.from_local(str(root), preset="full-access") as sandbox:
        r = sandbox.run("echo changed > README.md && rm src/b.py && echo n > new.txt")
        assert r.exit_code == 0, r.output
        sandbox.write_file("src/c.py", "c\n")
        assert sandbox.diff().splitlines() == ["M\t/README.md", "A\t/new.txt", "D\t/src/b.py",
                                               "A\t/src/c.py"]
        assert "README.md" in sandbox.diff(stat=True)
        # Nothing reached the directory yet.
        assert root.joinpath("README.md").read_text() == "hello\n"
        sandbox.commit(["/workspace/README.md", "src/b.py"])
        assert root.joinpath("README.md").read_text() == "changed\n"
        assert not root.joinpath("src/b.py").exists()
        assert not root.joinpath("new.txt").exists()
        assert sandbox.diff().splitlines() == ["A\t/new.txt", "A\t/src/c.py"]
        # The sandbox runs on after the commit (it was remounted).
        assert sandbox.status == SandboxStatus.RUNNING
        assert sandbox.run("cat README.md new.txt").stdout == "changed\nn\n"
        sandbox.discard(["new.txt"])
        assert sandbox.diff().splitlines() == ["A\t/src/c.py"]
        assert sandbox.run("test -e new.txt").exit_code == 1
        sandbox.commit()
        assert root.joinpath("src/c.py").read_text() == "c\n"
        assert sandbox.diff() == ""
        with sandbox.session() as s:
            assert s.exec("true").success
            sandbox.run("echo x > x.txt")
            with pytest.raises(agentfense.SandboxError, match="open sessions"):
                sandbox.commit()
        with pytest.raises(agentfense.SandboxError):
            sandbox.commit(["no-such-change"])
    assert not root.joinpath("x.txt").exists()


def test_commit_conflict_and_force(tmp_path):
    root = write_tree(tmp_path / "p", {"a.txt": "line1\n", "b.txt": "b\n"})
    with Sandbox.from_local(str(root), preset="full-access") as sandbox:
        assert sandbox.run("echo agent >> a.txt && echo B > b.txt").exit_code == 0
        # Meanwhile the developer edits a.txt too.
        with open(root / "a.txt", "a") as f:
            f.write("human\n")
        assert sandbox.diff().splitlines() == ["C\t/a.txt", "M\t/b.txt"]
        with pytest.raises(agentfense.CommitConflictError) as e:
            sandbox.commit()
        assert e.value.paths == ["/a.txt"]
        assert e.value.conflicts == [{"path": "/a.txt", "delta": "M", "source": "modified"}]
        assert "nothing applied" in e.value.details
        # Nothing applied, the developer's line kept; the sandbox runs on.
        assert root.joinpath("a.txt").read_text() == "line1\nhuman\n"
        assert root.joinpath("b.txt").read_text() == "b\n"
        assert sandbox.status == SandboxStatus.RUNNING
        sandbox.commit(["b.txt"])
        assert root.joinpath("b.txt").read_text() == "B\n"
        sandbox.commit(force=True)
        assert root.joinpath("a.txt").read_text() == "line1\nagent\n"
        assert sandbox.diff() == ""
        with pytest.raises(ValueError):
            sandbox.commit(["a.txt"], branch="x")


def test_commit_to_a_git_branch(tmp_path):
    root = write_tree(tmp_path / "p", {"a.txt": "one\ntwo\n"})
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t")

    def git(*args):
        return subprocess.run(["git", "-C", str(root)] + list(args), env=env, check=True,
                              capture_output=True, text=True).stdout

    git("-c", "init.defaultBranch=main", "init", "-q")
    git("add", "-A")
    git("commit", "-qm", "base")
    head = git("rev-parse", "HEAD").strip()
    with Sandbox.from_local(str(root), preset="full-access") as sandbox:
        assert sandbox.run("echo agent >> a.txt && echo n > new.txt").exit_code == 0
        old = os.environ.copy()
        os.environ.update(env)
        try:
            commit = sandbox.commit(branch="agent/x", message="the agent's work")
        finally:
            os.environ.clear()
            os.environ.update(old)
    assert git("rev-parse", "agent/x").strip() == commit
    assert git("rev-parse", "agent/x^").strip() == head
    assert git("log", "-1", "--format=%s", "agent/x").strip() == "the agent's work"
    assert git("show", "agent/x:a.txt") == "one\ntwo\nagent\n"
    assert git("show", "agent/x:new.txt") == "n\n"
    # The working tree and the current branch are as they were.
    assert root.joinpath("a.txt").read_text() == "one\ntwo\n"
    assert git("status", "--porcelain") == ""
    assert git("rev-parse", "--abbrev-ref", "HEAD").strip() == "main"


def test_audit(tmp_path):
    root = write_tree(tmp_path / "p", {"README.md": "hello\n", "secret.key": "k\n"})
    with Sandbox.from_local(str(root), preset="agent-safe") as sandbox:
        sandbox.run("cat README.md; cat secret.key")
        assert os.path.isfile(sandbox.audit_log)
        # afs-fuse writes its records from a thread of its own, a repeat
        # up to a second late (afs-fuse(1), AUDIT LOG).
        deadline = time.monotonic() + 10
        while True:
            records = sandbox.audit()
            if len(records) >= 3 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert all(isinstance(r, dict) for r in records)
    assert {r.get("mount") for r in records} == {sandbox.id}
    execs = [r for r in records if r.get("op") == "exec"]
    assert len(execs) == 1
    assert [r["path"] for r in records if r.get("op") == "open" and
            r.get("decision") == "allow"] == ["/README.md"]
    assert any(r.get("path") == "/secret.key" and r.get("decision") in ("deny", "hide")
               for r in records)
