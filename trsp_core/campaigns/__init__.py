"""Campaigns on dask.distributed: temperature x seed x variant sweeps and aging
after a quench. One file per run, content-hash names, resumable."""
