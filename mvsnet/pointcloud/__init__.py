"""Point clouds from MVSNet depth maps: fusion, PLY files, Gipuma/fusibile export, evaluation.

    views        the depth maps, probabilities, cameras and images of a dense folder
    fusion       fusibile's depth-map fusion on the CPU (NumPy, one reference view at a time)
    consistency  the geometric-consistency filter of the PyTorch MVSNet ports
    gipuma       the original depthfusion.py's files for fusibile (.dmb, .P) and running fusibile
    ply          binary little-endian PLY point clouds (plyfile)
    evaluation   depth-map and point-cloud metrics (scipy cKDTree)
"""
