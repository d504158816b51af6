"""Tools over every layer: the command line (``python -m core``) and reproducible sample data."""
