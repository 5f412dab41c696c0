"""lucas2019's Hydra plugins: ``hydra/launcher=vectorized`` (vectorized_launcher.py) and
``hydra/sweeper=job_list`` (job_list_sweeper.py)."""
