"""Customs declarations: landing files → staging (row rules, quarantine) → customs_items → customs_daily."""
