"""The service hashes passwords with argon2id at the library's recommended cost. The test process swaps in
the cheapest profile (tests/conftest.py), so the real default is checked in a fresh interpreter."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from argon2 import PasswordHasher

import core.accounts

ROOT = Path(__file__).resolve().parents[2]


def test_the_service_keeps_argon2s_recommended_cost():
    probe = ("import json, core.accounts as a; h = a._hasher; "
             "print(json.dumps([h.time_cost, h.memory_cost, h.parallelism, a.hash_password('x' * 12)]))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    time_cost, memory_cost, parallelism, stored = json.loads(out.stdout)
    default = PasswordHasher()
    assert (time_cost, memory_cost, parallelism) == (default.time_cost, default.memory_cost, default.parallelism)
    assert memory_cost >= 64 * 1024 and time_cost >= 3
    assert stored.startswith(f"$argon2id$v=19$m={memory_cost},t={time_cost},p={parallelism}$")


def test_a_cheap_hash_from_the_tests_still_verifies_and_is_upgraded_on_login():
    """A hash stored with other parameters verifies and is re-hashed with the current ones (check_needs_rehash)."""
    cheap = core.accounts._hasher.hash("correct horse battery")
    strong = PasswordHasher()
    assert strong.verify(cheap, "correct horse battery")
    assert strong.check_needs_rehash(cheap)
