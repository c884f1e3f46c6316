"""Depth inference on a dense folder, the job of the original ``mvsnet/test.py``.

    plan      test.py's Options; list and check every view set before the network starts
    prepare   read and preprocess one view set (decode, scale, crop, centre, 1/4 cameras)
    network   load the model; the compiled network (towers + depth); the feature cache
    pipeline  reading one batch ahead, the loop over view sets (``run``)
    outputs   the files of one reference view in ``depths_mvsnet/``
    process   the memory settings of an inference process (the commands call ``configure``)
    precision ``--precision``: the option, its check, the bfloat16 hardware check

``plan``, ``prepare``, ``outputs`` and ``precision`` are NumPy only; the others import
TensorFlow.

    from mvsnet.inference import pipeline, plan
    options = plan.Options(regularization="GRU", max_w=1600, max_h=1200, max_d=256)
    summary = pipeline.run("SCENE", "MODELS/GRU/model.ckpt", 100000, options)
"""
