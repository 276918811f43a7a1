"""Turn a raw email (bytes) into plain data: sender, subject, text, attachments, reply headers and
whether it is an automatic message. Real Chinese mail: GBK/GB18030/GB2312/Big5/UTF-8 in bodies,
RFC 2047 headers and RFC 2231 file names, mislabelled charsets, HTML-only bodies."""
from __future__ import annotations

import email
import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header
from email.message import EmailMessage, Message
from email.utils import parseaddr

from intake.sanitise import html_to_text

# Labels whose real content is usually a superset encoding.
CHARSET_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
                     "euc-cn": "gb18030", "cp936": "gb18030", "big5": "big5hkscs", "x-big5": "big5hkscs",
                     "cn-big5": "big5hkscs", "ks_c_5601-1987": "cp949", "unknown-8bit": "gb18030"}
FALLBACKS = ("utf-8", "gb18030", "big5hkscs")
_AUTO_SUBJECT = re.compile(r"(?i)^(auto(matic)?[ -]?reply|out of (the )?office|自动回复|自動回覆|休假|不在办公室)")


class UnparseableMail(ValueError):
    """The bytes do not make a message we can read: quarantine it for a clerk."""


@dataclass
class MailAttachment:
    filename: str
    content: bytes


@dataclass
class ParsedMail:
    message_key: str
    from_addr: str
    from_name: str
    subject: str
    text: str
    in_reply_to: list[str] = field(default_factory=list)
    attachments: list[MailAttachment] = field(default_factory=list)
    auto_reason: str = ""  # why it is an automatic message (skip it), empty for a person's mail
    html_only: bool = False


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode with the declared charset (or its superset), then the usual suspects, never failing."""
    label = (charset or "").strip().lower().strip('"')
    tried = []
    for name in [CHARSET_SUPERSETS.get(label, label)] + list(FALLBACKS):
        if not name or name in tried:
            continue
        tried.append(name)
        try:
            return data.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("gb18030", errors="replace")


def header_text(value: object) -> str:
    """A header as text: RFC 2047 words decoded with superset charsets, raw 8-bit bytes guessed."""
    if value is None:
        return ""
    raw = str(value)
    try:
        parts = decode_header(raw)
    except Exception:
        return raw
    out = []
    for chunk, charset in parts:
        out.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    return re.sub(r"\s+", " ", "".join(out)).strip()


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True) or b""
    return decode_bytes(payload, part.get_content_charset())


def _filename(part: Message) -> str:
    name = part.get_param("filename", header="content-disposition") or part.get_param("name")
    if isinstance(name, tuple):  # RFC 2231: (charset, language, value)
        charset, _lang, value = name
        raw = value.encode("latin-1", errors="replace") if isinstance(value, str) else value
        return decode_bytes(raw, charset)
    if name:
        text = header_text(name)
        if any(ord(c) > 127 for c in text) and all(ord(c) < 256 for c in text):
            text = decode_bytes(text.encode("latin-1"), None)  # raw 8-bit name, no encoding declared
        return text
    return ""


def auto_reason(msg: Message, own_addresses: set[str]) -> str:
    """Why a message is automatic or our own (and must not become a report), or ''."""
    sender = parseaddr(header_text(msg.get("From")))[1].lower()
    if sender and sender in own_addresses:
        return "sent by this service (loop)"
    if msg.get_content_type() == "multipart/report" or msg.get("X-Failed-Recipients"):
        return "delivery report (bounce)"
    local = sender.split("@")[0]
    if local in {"mailer-daemon", "postmaster"} or (msg.get("Return-Path") or "").strip() == "<>":
        return "delivery report (bounce)"
    auto = (msg.get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto[:40]}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if msg.get(name):
            return f"{name} header"
    precedence = (msg.get("Precedence") or "").strip().lower()
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        return f"Precedence: {precedence}"
    if _AUTO_SUBJECT.search(header_text(msg.get("Subject"))):
        return "automatic reply (subject)"
    return ""


def message_key(msg: Message, raw: bytes) -> str:
    mid = (msg.get("Message-ID") or "").strip()
    if mid and len(mid) <= 250 and "@" in mid:
        return mid.lower()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def parse_mail(raw: bytes, own_addresses: set[str] = frozenset(), html_budget: int = 2_000_000) -> ParsedMail:
    try:
        msg: EmailMessage = email.message_from_bytes(raw, policy=policy.compat32)
    except Exception as exc:  # pragma: no cover - the parser is lenient; belt and braces
        raise UnparseableMail(str(exc)) from exc
    if not msg.keys() or (msg.get("From") is None and msg.get("Subject") is None):
        raise UnparseableMail("no headers")
    plain, html, attachments = [], [], []
    try:
        for part in msg.walk():
            if part.is_multipart():
                continue
            disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
            name = _filename(part)
            ctype = part.get_content_type()
            if disposition == "attachment" or (name and ctype not in ("text/plain", "text/html")):
                attachments.append(MailAttachment(name or "attachment", part.get_payload(decode=True) or b""))
            elif ctype == "text/plain":
                plain.append(_part_text(part))
            elif ctype == "text/html":
                html.append(_part_text(part))
    except Exception as exc:
        raise UnparseableMail(f"{type(exc).__name__}: {exc}") from exc
    if plain:
        text, html_only = "\n\n".join(plain), False
    else:
        text, html_only = "\n\n".join(html_to_text(h, max_chars=html_budget) for h in html), bool(html)
    from_name, from_addr = parseaddr(header_text(msg.get("From")))
    refs = " ".join(header_text(msg.get(h)) for h in ("In-Reply-To", "References"))
    return ParsedMail(message_key=message_key(msg, raw), from_addr=from_addr.strip().lower(),
                      from_name=from_name.strip(), subject=header_text(msg.get("Subject")),
                      text=text.strip(), in_reply_to=re.findall(r"<[^<>\s]+>", refs),
                      attachments=attachments, auto_reason=auto_reason(msg, own_addresses),
                      html_only=html_only)

