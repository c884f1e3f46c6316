"""Training and validation, the jobs of the original ``mvsnet/train.py`` and ``validate.py``.

    step          one RMSProp step as TF1's (TF1RMSProp, TrainStep), losses, snapshots
    config        TrainConfig, ValidateConfig, DataRoots: train.py's and validate.py's options
    loop          the training loop (``train``)
    data          training / validation samples of DTU, BlendedMVS/BlendedMVG and ETH3D
    augmentation  the original's online photometric augmentation
    validation    the validation run (``validate``)
"""
