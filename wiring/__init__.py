"""The top floor: the app factory (create_app) that wires every package (blueprints, signals, commands),
the model registry that Alembic reads, and `flask setup`. Nothing imports it but wsgi.py, the migrations
and the tests."""
