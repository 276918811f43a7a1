"""Issue 17, point 7: the proof of filing carries the follow-up address and what to do with the code, and prints
without JavaScript from a page of its own, reached by a POST (the code is never in an address); the new code a
reporter takes after a clerk's can be printed the same way."""
from intake.receipts import format_receipt
from tests.intake.test_receipt_replaced import clerk_issued
from tests.support.web import hidden_fields, report_form_data, text_of


def print_fields(page: str) -> dict:
    form = page.split('data-testid="print-form"')[1].split("</form>")[0]
    assert 'method="post"' in page.split('data-testid="print-form"')[0].rsplit("<form", 1)[1]
    return hidden_fields(form)


def test_the_proof_says_where_to_follow_up_and_prints_from_a_page_of_its_own(app, client):
    FOLLOWUP = app.config["SITE_URL"] + "/followup"  # the public address, not the one the request came by
    resp = client.post("/report", data=report_form_data(client))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    receipt = page.split('data-testid="receipt">')[1].split("<")[0]
    assert f'data-testid="followup-address">{FOLLOWUP}<' in page and "查询码的用法" in page
    fields = print_fields(page)
    assert fields["receipt"] == receipt and fields["csrf_token"]
    printed = client.post("/receipt/print", data=fields)
    body = printed.get_data(as_text=True)
    assert printed.status_code == 200 and printed.headers["Cache-Control"] == "no-store"
    assert receipt in body and fields["reference"] in body and FOLLOWUP in body and "Ctrl+P" in body
    assert receipt.replace("-", "") not in printed.request.url  # the code came in the body only


def test_the_print_page_refuses_what_is_not_a_proof(client):
    fields = print_fields(client.post("/report", data=report_form_data(client)).get_data(as_text=True))
    assert client.get("/receipt/print").status_code == 405
    assert client.post("/receipt/print", data={**fields, "csrf_token": ""}).status_code == 400
    assert client.post("/receipt/print", data={**fields, "receipt": "1234"}).status_code == 400
    assert client.post("/receipt/print", data={**fields, "reference": "<b>x</b>"}).status_code == 400


def test_a_new_receipt_after_a_clerks_code_can_be_printed(app, client):
    receipt = clerk_issued(app)
    data = hidden_fields(client.get("/followup").get_data(as_text=True))
    data["receipt"] = format_receipt(receipt.receipt)
    assert client.post("/followup", data=data).headers["Location"].endswith("/followup/new-receipt")
    page = client.get("/followup/new-receipt").get_data(as_text=True)
    page = client.post("/followup/new-receipt", data=hidden_fields(page)).get_data(as_text=True)
    new = page.split('data-testid="receipt">')[1].split("<")[0]
    assert new != format_receipt(receipt.receipt) and app.config["SITE_URL"] + "/followup" in page
    printed = client.post("/receipt/print", data=print_fields(page))
    assert printed.status_code == 200 and new in text_of(printed.get_data(as_text=True))
    assert receipt.reference in printed.get_data(as_text=True)
