"""lucas2019's Hydra launcher plugin: ``hydra/launcher=vectorized`` (vectorized_launcher.py)."""
