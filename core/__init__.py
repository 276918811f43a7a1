"""The ground floor: the database and its session, units, staff accounts and roles, the audit trail,
login, translations, app-wide web pieces (errors, headers), and the district's local time and working-day
calendar. It may import only `config/`; it knows nothing of reports or cases."""
