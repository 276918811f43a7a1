"""Mail ingest from a real IMAP server: N messages (default 1,000, GBK like most Chinese mail clients)
in a throwaway dovecot, taken in by `mail fetch` (each one parsed, stored as a report with its .eml,
routed, acknowledged through the outbox), against a bare imap-tools download of the same messages.
Needs dovecot (apt-get install dovecot-imapd). Prints figures; not a test.

    .venv/bin/python bench/bench_mail.py [N]"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.mail_samples import gbk_plain, new_message_id  # noqa: E402
from tests.support.mailserver import Dovecot, find_dovecot  # noqa: E402


def main(n: int) -> None:
    binary = find_dovecot()
    if binary is None:
        print("mail ingest: dovecot is not installed (apt-get install dovecot-imapd) — skipped")
        return
    server = Dovecot(binary).start()
    try:
        user, password = server.add_user()
        t = time.perf_counter()
        conn = server.connect(user)
        for i in range(n):
            raw = gbk_plain(body=f"举报：区人民医院第{i}名医生收受医药代表回扣，每用一盒药返现{i % 50 + 1}百元。",
                            message_id=new_message_id())
            conn.append("INBOX", "", None, raw)
        conn.logout()
        print(f"mail ingest of {n:,} GBK messages from dovecot on loopback (loaded in {time.perf_counter() - t:.0f} s, "
              f"routed in the same pass):")

        t = time.perf_counter()
        from imap_tools import MailBoxUnencrypted
        with MailBoxUnencrypted(server.host, port=server.port).login(user, password) as box:
            fetched = sum(1 for _ in box.fetch(mark_seen=False, bulk=True))
        bare = time.perf_counter() - t
        print(f"  bare imap-tools download: {fetched:,} messages in {bare:.1f} s ({fetched / bare:,.0f}/s)")
        from intake.mail_cli import fetch_all
        from wiring.factory import create_app
        from wiring.setup_cli import run_setup
        app = create_app(env={"APP_ENV": "testing", "DATABASE_URL": f"sqlite:///{tempfile.mkdtemp()}/mail.sqlite3",
                              "SECRET_KEY": "b" * 40, "IDENTITY_KEY": "A" * 43 + "=", "INSTANCE_DIR": tempfile.mkdtemp(),
                              "MAILBOX_HEALTH": server.url(user) + "?since=2000-01-01", "MAIL_FROM": "noreply@xlt.gov.cn",
                              "MAIL_FETCH_MAX_MESSAGES": "5000", "MAIL_FETCH_MAX_SECONDS": "3600",
                              "ROUTING_IN_REQUEST": "true"})
        with app.app_context():
            run_setup(app)
            t = time.perf_counter()
            counts: dict[str, int] = {}
            for stats in fetch_all(app):
                for key, value in stats.counts.items():
                    counts[key] = counts.get(key, 0) + value
            taken = time.perf_counter() - t
        total = sum(counts.values())
        print(f"  service `mail fetch`: {total:,} messages in {taken:.1f} s ({total / taken:,.1f}/s) {counts} — "
              f"{(total / taken) / (fetched / bare):.1%} of the bare download rate")
    finally:
        server.stop()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 1000)
