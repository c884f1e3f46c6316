"""The install / CI contract: packages, requirements and .ci/run."""

import os
import stat

import cameras
import mvsnet
import tools

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_packages_are_installed():
    for package in (mvsnet, cameras, tools):
        assert os.path.basename(os.path.dirname(package.__file__)) == package.__name__


def test_requirements():
    with open(os.path.join(ROOT, "requirements.txt")) as f:
        lines = [line.split("#")[0].strip() for line in f]
    names = [line.split("=")[0].strip() for line in lines if line]
    assert names == ["tensorflow", "numpy", "opencv-python", "imageio", "pillow", "absl-py", "pytest",
                     "pycolmap", "plyfile", "scipy"]


def test_ci_runs_the_two_readme_commands():
    path = os.path.join(ROOT, ".ci", "run")
    assert os.stat(path).st_mode & stat.S_IXUSR
    with open(path) as f:
        lines = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    assert "set -euo pipefail" in lines
    assert lines[-2:] == ["pip install -r requirements.txt && pip install -e .", "pytest -q"]


def test_readme_starts_with_the_ci_commands():
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    first_block = text.split("```bash\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert first_block == ["pip install -r requirements.txt && pip install -e .", "pytest -q"]
    assert text.index("```bash") < text.index("\n## ")   # before any section
