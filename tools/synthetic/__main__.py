"""``python -m tools.synthetic {dense,dtu,colmap} OUT ...``: see :mod:`tools.synthetic.cli`."""
import sys

from tools.synthetic.cli import main

sys.exit(main())
