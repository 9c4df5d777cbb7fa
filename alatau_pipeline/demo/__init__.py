"""Deterministic demo data for the landing zone (and, for Comtrade, a synthetic API source).

Demo data is written by its own command (``alatau seed-demo``), never by an asset, and never overwrites a
landing file that already exists.
"""
