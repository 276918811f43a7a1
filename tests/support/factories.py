"""Test data: report inputs and a direct way to file a report through the one submit path."""
from __future__ import annotations

import io

from intake.submit import IncomingFile, submit_report
from intake.validate import ReportInput

TEXT = "2026年10月，区某医院骨科主任收受医药代表回扣，每用一套耗材返现两千元，科室护士都知道。"


def report_input(**overrides) -> ReportInput:
    values = {"text": TEXT, "title": "骨科耗材回扣"}
    values.update(overrides)
    return ReportInput(**values)


def file_report(session, ctx, files: list[tuple[str, bytes]] = (), token: str | None = None, **overrides):
    incoming = [IncomingFile(name, io.BytesIO(data)) for name, data in files]
    return submit_report(session, ctx, report_input(**overrides), incoming, submission_token=token)
