"""Airflow hooks, extended where the providers lack what invoice exchange needs (each says why)."""
