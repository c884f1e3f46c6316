"""Training and validation, the jobs of the original ``mvsnet/train.py`` and ``validate.py``.

    step          one RMSProp step as TF1's (TF1RMSProp, TrainStep), losses, snapshots
    config        TrainConfig, ValidateConfig, DataRoots: train.py's and validate.py's options
    loop          the training loop (``train``)
    data          sample lists (sample_list), reading one sample, the tf.data pipelines
    dtu, blendedmvs, eth3d   one file per dataset layout (its sample list)
    samples       SampleList and the pair.txt / missing-file machinery they share
    augmentation  the original's online photometric augmentation
    validation    the validation run (``validate``)
"""
