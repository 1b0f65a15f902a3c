"""On-demand benchmarks of kukeon against ctr and podman (run bench/run.py as root)."""
