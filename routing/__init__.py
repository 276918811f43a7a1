"""The routing decision, pure: text normalisation, cue matching, the rule classifier, the learned model,
the taxonomy (negative list, matrix and classifier settings from config/), the responsibility matrix and
evaluation. It takes plain data and returns plain data: no Flask, no database session, and it imports
nothing of the project but `config/`. The one exception is routing.cli (`classify`, `classify-eval`),
which reads the runtime the factory put on the app and may touch Flask and `core/`."""
