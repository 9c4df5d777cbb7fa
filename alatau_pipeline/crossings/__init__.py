"""Border-crossing reports: landing files → staging (row rules, quarantine) → crossing_throughput_daily."""
