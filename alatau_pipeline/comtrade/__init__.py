"""UN Comtrade: raw answers of both reporters (live API or demo source) → trade_flows_monthly →
mirror_trade_monthly, with the HS classification as a dimension."""
