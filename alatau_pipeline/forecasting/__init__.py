"""Throughput forecasts per crossing, their scoring against what crossed, monitors, charts and the zone outlook."""
