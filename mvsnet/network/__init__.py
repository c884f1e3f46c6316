"""The R-MVSNet / MVSNet network, one file per block of the paper.

    feature_towers       2D feature extraction (UNetDS2GN, UniNetDS2)
    homography           plane-sweep homographies and feature warping
    cost_volume          variance cost across views
    convgru              R-MVSNet: recurrent regularisation (stacked ConvGRUs)
    cost_regularization  MVSNet: 3D U-Net regularisation (RegNetUS0)
    depth_regression     soft argmin depth and its probability map
    refinement           MVSNet: depth map refinement (RefineNet)
    norms                group / batch / layer norm and normalised convolutions
    loss                 training losses and accuracies
    model                the shared plane sweep (PlaneSweepNetwork) and the two networks that
                         compose the blocks into the original's modes: RMVSNet (GRU), MVSNet (3DCNNs)
"""
