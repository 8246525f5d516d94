"""A throw-away plugin distribution, as pip would leave it in site-packages (a package and a
.dist-info with a ``trsp`` entry point), put on the path of a ``trsp`` subprocess. Shared by the
tests of third-party plugins (importable through pytest's pythonpath = ["tests"] in pyproject.toml)."""
import os
import subprocess
import sys


def install(root, package: str, source: str, entry: str, dist: str | None = None) -> None:
    """Write ``package/__init__.py`` holding ``source`` and its .dist-info under ``root``."""
    dist = dist or package.replace("_", "-")
    pkg = root / package
    pkg.mkdir()
    (pkg / "__init__.py").write_text(source)
    info = root / f"{package}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[trsp]\n{entry} = {package}\n")
    (info / "RECORD").write_text("")


def run_trsp(args, root):
    """``trsp ARGS`` in a subprocess that sees the distributions under ``root``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", "from trsp_core.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, timeout=600)
