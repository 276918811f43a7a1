"""Shared foundation: database session, units, the app factory's pieces."""
