"""Settings (env-driven classes) and the domain as data (TOML files beside this module)."""
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent
