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


SCRIPTS = ("test", "train", "validate", "visualize", "depthfusion", "colmap2mvsnet", "reconstruct")


def test_scripts_are_thin_cli_with_an_entry_point():
    """Every original script: mvsnet/NAME.py, ``python -m mvsnet.NAME`` and the console
    command ``mvsnet-NAME`` run the same ``run()``; importing it defines no flag."""
    import importlib

    from absl import flags

    with open(os.path.join(ROOT, "setup.py")) as f:
        setup_text = f.read()
    assert '"mvsnet-%s = mvsnet.%s:run" % (name, name)' in setup_text
    before = set(flags.FLAGS)
    for name in SCRIPTS:
        module = importlib.import_module("mvsnet." + name)
        assert callable(module.run) and callable(module.define_flags), name
        assert name in setup_text
    ours = {"dense_folder", "max_d", "max_w", "view_num", "train_dtu", "validate_set", "prob_threshold",
            "images", "output"}
    assert not (set(flags.FLAGS) - before) & ours   # (absl.app may add its own, e.g. --pdb)


def test_python_dash_m_shows_the_generated_flags():
    """test.py's input flags come from inference.plan.Options (one source of defaults)."""
    import subprocess
    import sys

    from mvsnet.inference.plan import Options

    proc = subprocess.run([sys.executable, "-m", "mvsnet.test", "--help"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert "mvsnet/test.py" in proc.stdout or "mvsnet.test" in proc.stdout, proc.stderr  # (absl exits 1 after --help)
    for field in ("view_num", "max_d", "max_w", "max_h", "interval_scale", "inverse_depth"):
        default = getattr(Options(), field)
        shown = str(default).lower() if isinstance(default, bool) else str(default)
        assert "--%s" % field in proc.stdout or "--[no]%s" % field in proc.stdout, field
        assert "(default: '%s')" % shown in proc.stdout, field
