"""COLMAP workspaces for R-MVSNet: reading sparse models (pycolmap), the original
colmap2mvsnet conversion and structure from motion (the photos-to-point-cloud pipeline
that drives them is :mod:`mvsnet.reconstruction`).

pycolmap is imported only inside the functions that need it, so that importing this
package (or the rest of mvsnet) never requires it.
"""
