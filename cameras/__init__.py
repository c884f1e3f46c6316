"""Camera files, camera geometry and dense-folder listing for MVSNet (numpy only)."""
