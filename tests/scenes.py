"""Small dense folders built from tests/fixtures for the tests (shared helpers, not tests)."""
import os
import shutil

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def fused_scene(tmp_path):
    """tmp_path/scene: scene_tiny's images and pair.txt with the original test.py's GRU
    outputs (tests/fixtures/orig_test_gru) as depths_mvsnet/, ready for depthfusion.py."""
    scene = tmp_path / "scene"
    scene.mkdir()
    shutil.copytree(os.path.join(FIXTURES, "scene_tiny", "images"), scene / "images")
    shutil.copytree(os.path.join(FIXTURES, "orig_test_gru"), scene / "depths_mvsnet")
    shutil.copy(os.path.join(FIXTURES, "scene_tiny", "pair.txt"), scene / "pair.txt")
    return scene
