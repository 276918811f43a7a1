"""Demonstration data (`flask demo seed`): staff of every unit and cases in every state, made through the
real routing, workflow and deadlines. It may import every package; only the factory stands above it."""
