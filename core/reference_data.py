"""Reference data that `flask setup` loads from config/: a list of (name, loader) on the app, in order.
The units come first; the packages above add theirs (the negative list) when the factory wires them."""
from __future__ import annotations

from flask import Flask

from core.units import load_units


def reference_loaders(app: Flask) -> list:
    """Loaders of reference data from config/, in order. Other modules append theirs."""
    return app.extensions.setdefault("reference_loaders", [("units", load_units)])
