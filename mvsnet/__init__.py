"""R-MVSNet / MVSNet network, inference and training (TensorFlow 2 / Keras 3)."""
