"""Run a command as in a container without CAP_SYS_ADMIN (Docker's default profile): a seccomp
filter refuses new namespaces, mounts and keyctl, so the grader must do without its full sandbox.

    python tests/adversarial/container.py python -m grader check ...
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from grader.sandbox import confine as sandbox  # noqa: E402

CONTAINER_DENIES = ("unshare", "setns", "mount", "umount2", "pivot_root", "keyctl", "add_key", "request_key")

if __name__ == "__main__":
    sandbox.libc().prctl(sandbox.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    sandbox.install_seccomp(sandbox.seccomp_program(denied=CONTAINER_DENIES, guard_args=False))
    os.execvp(sys.argv[1], sys.argv[1:])
