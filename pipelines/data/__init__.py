"""Datasets: one module per dataset, each generated from a seed or read from a package (declared in
``pipelines/registry.py``)."""
