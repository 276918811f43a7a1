"""A staff member at their browser: logged in through the real form on a client of their own, looking
for a case everywhere it could show (queue tabs and search, case page, files, actions, bulk assignment,
supervision, dashboard, ledgers, weekly figures and .zip, identity requests)."""
from __future__ import annotations

import io
import re
import zipfile

from openpyxl import load_workbook

from casework.queue_tabs import TABS
from tests.support.staff import login, otp_code
from tests.support.web import hidden_fields, text_of

LEDGER_KINDS = ("institution", "individual")


def xlsx_text(data: bytes) -> str:
    book = load_workbook(io.BytesIO(data), read_only=True)
    return " ".join(str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row
                    if v is not None)


class Viewer:
    """Logged in once per app and user (a one-time code is not accepted twice): Viewer(app, user) again
    is the same browser."""

    def __new__(cls, app, user, secret: str | None = None):
        viewers = app.extensions.setdefault("test_viewers", {})
        if user.id not in viewers:
            viewer = super().__new__(cls)
            viewer.user, viewer.client = user, app.test_client()
            resp = login(viewer.client, user.username, otp=otp_code(secret) if user.needs_totp else None)
            assert resp.status_code == 302, f"{user.username} could not log in"
            viewers[user.id] = viewer
        return viewers[user.id]

    def page(self, path: str) -> str:
        return self.client.get(path).get_data(as_text=True)

    def csrf(self) -> str:
        return hidden_fields(self.page("/account/totp")).get("csrf_token", "")

    def post(self, path: str, **data):
        return self.client.post(path, data={"csrf_token": self.csrf(), **data})

    # --- where a case shows ---------------------------------------------------------------------

    def in_queue(self, reference: str, *searches: str) -> bool:
        """The reference on any tab of the queue, or in a search for it or for `searches` (a name)."""
        link = f'href="/cases/{reference}"'  # a row; the search box echoes what was typed
        for tab in TABS:
            for q in ("", reference, *searches):
                if link in self.page(f"/queue?tab={tab}&q={q}"):
                    return True
        return False

    def case_status(self, reference: str) -> int:
        return self.client.get(f"/cases/{reference}").status_code

    def sees(self, reference: str, *searches: str) -> bool:
        status = self.case_status(reference)
        assert status in (200, 404), status
        return status == 200 or self.in_queue(reference, *searches)

    def attachment_status(self, reference: str, attachment_id: int) -> int:
        resp = self.client.get(f"/cases/{reference}/attachments/{attachment_id}")
        resp.close()  # a file response holds the file open until closed
        return resp.status_code

    def action_status(self, reference: str, action: str, **data) -> int:
        return self.post(f"/cases/{reference}/{action}", **data).status_code

    def bulk_assign_status(self, reference: str, handler_id: int) -> int:
        return self.post("/queue/assign", case=reference, handler=str(handler_id)).status_code

    def weekly_new(self) -> int:
        return int(re.search(r'data-figure="new">(\d+)<', self.page("/weekly")).group(1))

    def ledger_export(self, kind: str, unit: str) -> str:
        resp = self.post("/ledgers/export", kind=kind, unit=unit)
        assert resp.status_code == 200, resp.status_code
        return xlsx_text(resp.data)

    def weekly_zip_text(self) -> str:
        resp = self.client.get("/weekly.zip")
        assert resp.status_code == 200
        with zipfile.ZipFile(io.BytesIO(resp.data)) as bundle:
            return " ".join(xlsx_text(bundle.read(name)) for name in bundle.namelist())

    def supervision_text(self) -> str:
        return self.page("/supervision")

    def dashboard_text(self) -> str:
        return self.page("/dashboard")

    def reveals_text(self) -> str:
        return text_of(self.page("/reveals"))
