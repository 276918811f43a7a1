"""Fixtures for the pure routing tests (no Flask app)."""
from pathlib import Path

import pytest

from routing.taxonomy import load_taxonomy

ROOT = Path(__file__).resolve().parents[2]
DEV_REPORTS = ROOT.parent / "shared" / "data" / "dev_reports.jsonl"
if not DEV_REPORTS.exists():
    DEV_REPORTS = Path("/work/shared/data/dev_reports.jsonl")
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def tax():
    return load_taxonomy(ROOT / "config")


@pytest.fixture(scope="session")
def dev_reports():
    return DEV_REPORTS


@pytest.fixture(scope="session")
def own_reports():
    return [HERE / "own_reports.jsonl", HERE / "blind_reports.jsonl"]
