"""``pip install ./sdks/python`` works offline (Debian's setuptools, no index) and ships ``py.typed``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

SDK = Path(__file__).resolve().parents[1]


def test_pip_install_offline(tmp_path: Path) -> None:
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    src = tmp_path / "sdk"
    shutil.copytree(SDK, src, ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__"))
    venv = tmp_path / "venv"
    # The suite runs with PYTHONPATH at the source tree (scripts/test.sh); the probe must see only the venv.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index", "--no-build-isolation", "-q"]
    done = subprocess.run([*pip, str(src)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    probe = (
        "import agenttier, pathlib; p = pathlib.Path(agenttier.__file__).parent; "
        "print(agenttier.__version__, (p / 'py.typed').exists(), str(p).startswith(%r))" % str(venv)
    )
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert out.stdout.split() == ["0.1.0", "True", "True"], out.stderr
