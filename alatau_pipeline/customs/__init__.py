"""Customs declarations: landing files → row rules and quarantine → customs_items → customs_daily, in one step."""
