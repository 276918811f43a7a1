"""Run one function in several threads at once and hand back what they raised."""
import threading
from typing import Callable


def run_in_threads(target: Callable[[], object], count: int, timeout: float = 60) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            target()
        except Exception as exc:  # reported to the caller, which asserts there were none
            errors.append(exc)

    threads = [threading.Thread(target=guarded) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return errors
