"""Cases and everything people do to them: opening a case from the routing queue (casework.opening), who
may see which case (casework.access, recusal), the workflow to 销号, assignment and transfer, links and
merges, messages and notices to the reporter, ledger entries, identity reveals, self-inspection, the unit
queues and the staff pages, and the case's own time limits (deadlines, extensions, pauses). It may import
`config/`, `core/`, `intake/` and `routing/`; never `oversight/`, `jobs/` or the factory."""
