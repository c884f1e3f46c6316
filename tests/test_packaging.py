"""The install / CI contract: packages, requirements and .ci/run."""

import os
import stat

import cameras
import mvsnet
import tools

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def setup_kwargs():
    """The keyword arguments setup.py passes to setuptools.setup (nothing is installed)."""
    import setuptools

    captured = {}
    setup_py = os.path.join(ROOT, "setup.py")
    real_setup, setuptools.setup = setuptools.setup, lambda **kw: captured.update(kw)
    try:
        code = compile(open(setup_py).read(), setup_py, "exec")
        exec(code, {"__file__": setup_py, "__name__": "setup"})
    finally:
        setuptools.setup = real_setup
    return captured


def test_packages_are_installed_and_tools_is_a_folder_of_the_repository():
    for package in (mvsnet, cameras):
        assert os.path.basename(os.path.dirname(package.__file__)) == package.__name__
    packages = setup_kwargs()["packages"]
    assert "mvsnet.inference" in packages and "cameras" in packages
    # tools/ is run from the repository root (python -m tools.synthetic ...), never installed as
    # a top-level 'tools' package; the tests import it from the root (setup.cfg pythonpath)
    assert not [p for p in packages if p.split(".")[0] == "tools"]
    assert os.path.dirname(os.path.abspath(tools.__file__)) == os.path.join(ROOT, "tools")


def requirement_names(lines):
    """Distribution names of requirement lines (comments, blanks and version specifiers cut)."""
    import re
    lines = (line.split("#")[0].strip() for line in lines)
    return [re.split(r"[\[=<>~!; ]", line)[0].lower() for line in lines if line]


def test_requirements_are_ranges_for_library_users():
    """requirements.txt names the runtime dependencies and pins none exactly (the lock does):
    ``pip install rmvsnet-tf2`` must not pin the world. The test tools are an extra."""
    with open(os.path.join(ROOT, "requirements.txt")) as f:
        lines = [line.split("#")[0].strip() for line in f]
    assert requirement_names(lines)[:9] == ["tensorflow", "numpy", "opencv-python", "imageio", "pillow", "absl-py",
                                            "pycolmap", "plyfile", "scipy"]
    assert "pytest" not in requirement_names(lines)
    for line in lines:
        assert "==" not in line or line.endswith(".*"), line   # ranges only (tensorflow==2.21.*)


def test_the_lock_pins_every_dependency():
    """constraints.txt pins (==) every runtime requirement and every package of the extras."""
    captured = setup_kwargs()
    with open(os.path.join(ROOT, "constraints.txt")) as f:
        pins = {}
        for line in f:
            line = line.split("#")[0].strip()
            if line:
                name, version = line.split("==")
                pins[name.lower().replace("_", "-")] = version
    wanted = requirement_names(captured["install_requires"])
    for extra in captured["extras_require"].values():
        wanted += requirement_names(extra)
    for name in wanted:
        assert name.replace("_", "-") in pins, name
    assert "test" in captured["extras_require"] and "pytest" in requirement_names(captured["extras_require"]["test"])


def readme_commands():
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    assert text.index("```bash") < text.index("\n## ")   # before any section
    return text.split("```bash\n", 1)[1].split("```", 1)[0].strip().splitlines()


def test_readme_starts_with_install_from_the_lock_and_the_tests():
    install, test = readme_commands()
    assert "-c constraints.txt" in install and install.startswith("pip install ") and ".[test]" in install
    assert test == "pytest -q"


def test_ci_runs_the_readme_commands_then_the_suite_without_onednn():
    path = os.path.join(ROOT, ".ci", "run")
    assert os.stat(path).st_mode & stat.S_IXUSR
    with open(path) as f:
        lines = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    assert "set -euo pipefail" in lines
    assert lines[-3:] == readme_commands() + ["TF_ENABLE_ONEDNN_OPTS=0 pytest -q"]


SCRIPTS = ("test", "train", "validate", "visualize", "depthfusion", "colmap2mvsnet", "reconstruct",
           "cluster")


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
