"""The two programs of the machine that `make test` needs besides Python, and what a test does without one.

`make setup` installs Debian's chromium (the report's browser test) and `make test` Debian's
openjdk-17-jre-headless (pyspark's Java, for the Spark build) when they are missing and apt-get is
usable (root, or sudo without a password). A test that needs one of them never skips: without it, it
fails and says what is missing and how to install it (the set-up went wrong where apt-get is usable;
elsewhere the program must be installed by hand).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def apt_usable() -> bool:
    """Whether apt-get could install a package here: present, and run as root or through sudo -n."""
    if shutil.which("apt-get") is None:
        return False
    if os.geteuid() == 0:
        return True
    return shutil.which("sudo") is not None and subprocess.run(["sudo", "-n", "true"]).returncode == 0


def require(program: Path | None, what: str, make_target: str, package: str) -> None:
    """Fail, saying what to do, when `program` is missing: `make_target` installs Debian's `package` where
    apt-get is usable; elsewhere it has to be installed by hand."""
    if program is not None and program.exists():
        return
    if apt_usable():
        pytest.fail(f"{what} is missing although apt-get is usable here: `make {make_target}` installs it")
    pytest.fail(
        f"{what} is missing and apt-get is not usable here (no apt-get, or not root): install {package} "
        "(or its equivalent) and run the tests again"
    )


def java_runtime() -> Path | None:
    """The java pyspark starts: $JAVA_HOME/bin/java when JAVA_HOME is set, else the first on the PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        return Path(home) / "bin" / "java"
    found = shutil.which("java")
    return Path(found) if found else None
