"""The scheduler process (`flask scheduler run`), its database lease, and the jobs it runs (routing the
queue, reminders, the outbox, mail fetch, retention), each a plain function that the command line calls
too. It may import every package below it; only the factory and the demo seed stand above it."""
