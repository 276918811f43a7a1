"""Reading forms out of pages, the way a browser would post them back."""
import html
import io
import re

_HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*>')
_NAME = re.compile(r'name="([^"]+)"')
_VALUE = re.compile(r'value="([^"]*)"')


def hidden_fields(page: str) -> dict[str, str]:
    fields = {}
    for tag in _HIDDEN.findall(page):
        name, value = _NAME.search(tag), _VALUE.search(tag)
        if name:
            fields[name.group(1)] = html.unescape(value.group(1)) if value else ""
    return fields


def report_form_data(client, **values) -> dict:
    page = client.get("/report").get_data(as_text=True)
    data = hidden_fields(page)
    data.update({"text": "2026年10月，区某医院骨科主任收受医药代表回扣，每用一套耗材返现两千元。",
                 "identity": "anonymous", "consent": "y"})
    data.update(values)
    return data


def with_files(data: dict, files: list[tuple[str, bytes]]) -> dict:
    data = dict(data)
    data["files"] = [(io.BytesIO(content), name) for name, content in files]
    return data


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def receipt_on(page: str) -> str:
    return re.search(r'data-testid="receipt">([\d-]+)<', page).group(1)


def reference_on(page: str) -> str:
    return re.search(r'data-testid="reference">([A-Z]+-\d{4}-\d{6})<', page).group(1)


def post_large_multipart(client, url: str, data: dict):
    """Post a large multipart body and close the temporary file werkzeug's test client spools it to."""
    from werkzeug.test import EnvironBuilder
    builder = EnvironBuilder(path=url, method="POST", data=data, content_type="multipart/form-data")
    try:
        environ = builder.get_environ()
        try:
            return client.open(environ)
        finally:
            environ["wsgi.input"].close()
    finally:
        builder.close()


def multipart(fields: dict, files: list[tuple[str, str, bytes]], boundary: str = "xltboundary7d9") -> tuple[bytes, str]:
    """A multipart/form-data body built by hand (the test client spools big bodies to files it never
    closes): (body, content type)."""
    out = []
    for name, value in fields.items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for field, filename, data in files:
        safe_name = filename.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "")
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{safe_name}"\r\n'
                   f"Content-Type: application/octet-stream\r\n\r\n".encode("utf-8", "surrogatepass") + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"
