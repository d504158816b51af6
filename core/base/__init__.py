"""Foundations every layer uses: errors, logging and metrics, input cleaning, permissions."""
