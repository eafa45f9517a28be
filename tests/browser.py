"""A headless browser for the report's rendering test: found on the PATH or, on a CI machine, installed.

The README's test command must run every test on a fresh machine, and Chromium is not a Python
package. So on a CI machine (`CI` set, as CI services and `.ci/run` do) where we are root and
Debian's `apt-get` is there, the first test that needs a browser installs Debian's `chromium`
package. Anywhere else (a developer's laptop) nothing is installed: the test skips and says how
to run it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time

NAMES = ("chromium", "chromium-browser", "google-chrome")
HOW = "install Chromium (apt-get install chromium) to run this test"
#: seconds for apt-get update and install together, at most
INSTALL_BUDGET = 480.0


def find_browser() -> str | None:
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _may_install() -> bool:
    on_ci = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
    return on_ci and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def browser_or_why() -> tuple[str | None, str]:
    """(path of a browser, "") or (None, why there is none and how to get one)."""
    found = find_browser()
    if found or not _may_install():
        return found, HOW
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    wait = ["-o", "DPkg::Lock::Timeout=60"]  # another apt run holding the lock: wait a minute, not forever
    steps = (["apt-get", "update", "-qq", *wait],
             ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *wait, "chromium"])
    deadline = time.monotonic() + INSTALL_BUDGET
    for step in steps:
        try:
            done = subprocess.run(step, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=max(1.0, deadline - time.monotonic()))
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"{' '.join(step)} failed ({exc}); {HOW}"
        if done.returncode != 0:
            return None, f"{' '.join(step)} exited {done.returncode}: {done.stderr.strip()[-300:]}; {HOW}"
    found = find_browser()
    return found, "" if found else f"apt-get installed chromium but no browser is on the PATH; {HOW}"
