"""Send a generated file (an .xlsx, a .zip) once its export is on the audit trail: every download of case
figures or lists is recorded with who asked and for what (filters, month, week)."""
from __future__ import annotations

import io

from flask import send_file

from core.audit import record

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def audited_download(session, actor, out: io.BytesIO, mimetype: str, name: str, event: str, **fields):
    record(session, event, actor=actor, **fields)
    session.commit()
    out.seek(0)
    return send_file(out, mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)
