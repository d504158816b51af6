"""The read side: KPIs, the dashboard's figures, movement reports, the audit log, system figures."""
