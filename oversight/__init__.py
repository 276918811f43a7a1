"""What watches the cases: reminders and escalation (督办), the supervision list, the weekly report (周调度),
the monthly bulletin (月通报), the ledger exports in the plan's form, the task force's dashboard, and data
retention. It may import everything below it (`config/`, `core/`, `intake/`, `routing/`, `casework/`);
never `jobs/` or the factory."""
