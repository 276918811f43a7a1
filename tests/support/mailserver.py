"""Real mail servers for the email-channel tests.

* ``Dovecot``: a throwaway dovecot IMAP server (``dovecot -F -c CONFIG``) with its own config,
  base_dir, state and maildirs in a temp directory, listening on 127.0.0.1 on a free port,
  plaintext auth on loopback, users from a passwd-file (scheme PLAIN, reread by dovecot on change).
  Mail storage belongs to a non-root uid (``nobody`` when run as root, else the current user).
* ``SmtpSink``: an aiosmtpd ``Controller`` on 127.0.0.1 that keeps every message it receives.

Only the standard library and aiosmtpd are used here (IMAP access goes through ``imaplib``), so the
helpers can be used from any test, with or without imap-tools.
"""
from __future__ import annotations

import asyncio
import atexit
import getpass
import grp
import imaplib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

__all__ = ["Dovecot", "DovecotError", "SmtpSink", "ReceivedMessage", "find_dovecot", "free_port"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def find_dovecot() -> str | None:
    """Path of the dovecot binary, or None when not installed. ``$XLT_DOVECOT``, when set, is the only
    candidate (a path that is not an executable means "no dovecot"); else PATH, /usr/sbin."""
    explicit = os.environ.get("XLT_DOVECOT")
    candidates = [explicit] if explicit else [shutil.which("dovecot"), "/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


class DovecotError(RuntimeError):
    pass


_LIVE: set[subprocess.Popen] = set()


@atexit.register
def _kill_leftovers() -> None:
    """A test run that ends without stop() (Ctrl-C, a crashed fixture) must not leave dovecot running."""
    for proc in list(_LIVE):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            pass


def _imap_quote(name: str) -> str:
    """Quote a mailbox name for imaplib (modified UTF-7 for non-ASCII names)."""
    if any(ord(c) > 127 for c in name) or "&" in name:
        name = _utf7_encode(name)
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _utf7_encode(value: str) -> str:
    import base64
    out: list[str] = []
    buf: list[str] = []

    def flush():
        if buf:
            raw = "".join(buf).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            buf.clear()

    for ch in value:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    return "".join(out)


class Dovecot:
    """A dovecot IMAP server for one test session.

    >>> d = Dovecot(); d.add_user("alice", "pw"); d.start()
    >>> d.append("alice", raw_bytes); d.uids("alice")  -> [1]
    >>> d.url("alice")  -> "imap://alice:pw@127.0.0.1:PORT/INBOX"
    >>> d.kill(); ...; d.restart(); d.stop()
    """

    host = "127.0.0.1"

    def __init__(self, binary: str | None = None, root: str | os.PathLike | None = None,
                 port: int | None = None, start_timeout: float = 15.0):
        self.binary = binary or find_dovecot()
        if not self.binary:
            raise DovecotError("dovecot is not installed (apt-get install dovecot-imapd)")
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="xlt-dovecot-") if root is None else root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.start_timeout = start_timeout
        self.base_dir = self.root / "run"
        self.state_dir = self.root / "state"
        self.mail_root = self.root / "mail"
        self.passwd_dir = self.root / "users"
        self.config = self.root / "dovecot.conf"
        self.log_file = self.root / "dovecot.log"
        self.stdout_file = self.root / "stdout.log"
        self._users: dict[str, str] = {}
        self._lock = threading.Lock()
        self.proc: subprocess.Popen | None = None
        self._setup_identity()
        self._write_files()

    # ------------------------------------------------------------------ setup
    def _setup_identity(self) -> None:
        if os.geteuid() == 0:
            # dovecot refuses uid 0 for mail access: store mail as nobody:nogroup (always on Debian).
            try:
                pw = pwd.getpwnam("nobody")
                self.mail_uid, self.mail_gid = pw.pw_uid, pw.pw_gid
            except KeyError:  # pragma: no cover - exotic systems
                subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                                "xltmail"], check=True, stdout=subprocess.DEVNULL)
                pw = pwd.getpwnam("xltmail")
                self.mail_uid, self.mail_gid = pw.pw_uid, pw.pw_gid
            self.internal_user = self._existing_user("dovecot")
            self.login_user = self._existing_user("dovenull")
            self.internal_group = "dovecot" if self.internal_user == "dovecot" else grp.getgrgid(
                pwd.getpwnam(self.internal_user).pw_gid).gr_name
            self.chroot = "login"
        else:
            # Unprivileged: everything runs as the current user, no chroot.
            self.mail_uid, self.mail_gid = os.getuid(), os.getgid()
            self.internal_user = self.login_user = getpass.getuser()
            self.internal_group = grp.getgrgid(os.getgid()).gr_name
            self.chroot = ""

    @staticmethod
    def _existing_user(name: str) -> str:
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            return "nobody"

    def _write_files(self) -> None:
        for d in (self.base_dir, self.state_dir, self.mail_root, self.passwd_dir):
            d.mkdir(parents=True, exist_ok=True)
        # mkdtemp gives 0700: the mail uid and the login/internal users must traverse it.
        os.chmod(self.root, 0o755)
        os.chmod(self.mail_root, 0o755)
        if os.geteuid() == 0:
            os.chown(self.mail_root, self.mail_uid, self.mail_gid)
        gid_name = grp.getgrgid(self.mail_gid).gr_name
        uid_name = pwd.getpwuid(self.mail_uid).pw_name
        conf = f"""\
# Generated by tests/support/mailserver.py
instance_name = xlt-dovecot-{self.port}
base_dir = {self.base_dir}
state_dir = {self.state_dir}
protocols = imap
listen = {self.host}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
# no brute-force penalty for loopback: tests log in with wrong passwords on purpose
login_trusted_networks = 127.0.0.0/8
auth_cache_size = 0
log_path = {self.log_file}
info_log_path = {self.log_file}
debug_log_path = {self.log_file}
auth_verbose = yes
default_internal_user = {self.internal_user}
default_login_user = {self.login_user}
default_internal_group = {self.internal_group}
first_valid_uid = 1
last_valid_uid = 0
first_valid_gid = 1
last_valid_gid = 0
mail_location = maildir:~/Maildir
mail_fsync = never
mail_max_userip_connections = 1000
default_process_limit = 200
default_client_limit = 1000
shutdown_clients = yes
version_ignore = yes
login_greeting = xlt-dovecot ready.
protocol imap {{
  imap_max_line_length = 1M
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd_dir}/%u
}}
userdb {{
  driver = static
  args = uid={uid_name} gid={gid_name} home={self.mail_root}/%u
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  chroot = {self.chroot}
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""
        self.config.write_text(conf)

    def _write_passwd(self, user: str, password: str) -> None:
        # One passwd-file per user ("user:password", scheme=PLAIN), found by dovecot as users/%u.
        # dovecot stats a passwd-file at most once a second and rereads it when its whole-second mtime
        # or size changed, so a new user (new file) is seen at once; for a changed password we wait
        # for the next second and give the file a new mtime. Written atomically (rename).
        path = self.passwd_dir / user
        tmp = self.passwd_dir / f".{user}.tmp"
        tmp.write_text(f"{user}:{password}::::::nodelay=y\n")
        os.chmod(tmp, 0o644)
        replacing = path.exists()
        if replacing:
            old = int(path.stat().st_mtime)
            while int(time.time()) <= old:
                time.sleep(0.05)
        os.replace(tmp, path)
        if replacing:  # a lookup earlier in this second would make dovecot skip the stat until the next
            written = int(path.stat().st_mtime)
            while int(time.time()) <= written:
                time.sleep(0.05)

    # -------------------------------------------------------------- lifecycle
    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        parts = []
        for f in (self.log_file, self.stdout_file):
            try:
                parts.append(f.read_text(errors="replace"))
            except FileNotFoundError:
                pass
        return "\n".join(p for p in parts if p.strip())

    def start(self) -> "Dovecot":
        if self.running:
            return self
        deadline = time.monotonic() + self.start_timeout
        # After kill()/stop() the old listener may linger for a moment (children exiting).
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)
        with open(self.stdout_file, "ab") as out:
            self.proc = subprocess.Popen([self.binary, "-F", "-c", str(self.config)], stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        _LIVE.add(self.proc)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                _LIVE.discard(self.proc)
                self.proc = None
                raise DovecotError(f"dovecot exited with {code} while starting:\n{self.log()}")
            if port_open(self.port) and self._greets():
                return self
            time.sleep(0.05)
        self._terminate(signal.SIGKILL)
        raise DovecotError(f"dovecot did not accept connections on port {self.port} within "
                           f"{self.start_timeout}s:\n{self.log()}")

    def _greets(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=2) as s:
                return s.recv(200).startswith(b"* OK")
        except OSError:
            return False

    def _terminate(self, sig: int, timeout: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        _LIVE.discard(proc)
        try:
            if sig == signal.SIGKILL:
                os.killpg(proc.pid, signal.SIGKILL)  # master and every child: an abrupt outage
            else:
                proc.send_signal(sig)
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout)
        except ProcessLookupError:
            proc.wait(timeout)
        # children that outlived the master (killpg covers them, SIGTERM lets the master reap them)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        deadline = time.monotonic() + timeout
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.02)

    def kill(self) -> None:
        """Simulate an IMAP outage: SIGKILL dovecot and its children; the port refuses connections."""
        self._terminate(signal.SIGKILL)

    def restart(self) -> "Dovecot":
        if self.running:
            self._terminate(signal.SIGTERM)
        return self.start()

    def stop(self, cleanup: bool | None = None) -> None:
        """Stop the server; remove the temp directory too (default when it created it). When the
        directory goes anyway there is nothing to shut down cleanly, so it is a quick SIGKILL (a clean
        SIGTERM shutdown takes dovecot about a second)."""
        remove = cleanup if cleanup is not None else self._own_root
        self._terminate(signal.SIGKILL if remove else signal.SIGTERM)
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Dovecot":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ users
    def add_user(self, name: str | None = None, password: str | None = None) -> tuple[str, str]:
        """Add (or change) a user; works before and after start(). Returns (name, password)."""
        name = name or f"u{secrets.token_hex(6)}"
        password = password if password is not None else secrets.token_urlsafe(12)
        if not re.fullmatch(r"[A-Za-z0-9._@+-]+", name):
            raise ValueError(f"unsupported user name for the test server: {name!r}")
        if ":" in password or "\n" in password:
            raise ValueError("password must not contain ':' or newlines (passwd-file)")
        with self._lock:
            self._users[name] = password
            self._write_passwd(name, password)
        return name, password

    def password(self, user: str) -> str:
        return self._users[user]

    def url(self, user: str, folder: str = "INBOX") -> str:
        return (f"imap://{quote(user, safe='')}:{quote(self._users[user], safe='')}"
                f"@{self.host}:{self.port}/{quote(folder, safe='')}")

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        base = self.mail_root / user / "Maildir"
        return base if folder.upper() == "INBOX" else base / ("." + folder.replace("/", "."))

    # ------------------------------------------------------------ IMAP access
    def connect(self, user: str, timeout: float = 10.0) -> imaplib.IMAP4:
        """A logged-in imaplib connection (use it as a context manager: logout closes the socket)."""
        conn = imaplib.IMAP4(self.host, self.port, timeout=timeout)
        try:
            conn.login(user, self._users[user])
        except BaseException:
            conn.shutdown()
            raise
        return conn

    @staticmethod
    def _check(typ: str, data, what: str):
        if typ != "OK":
            raise DovecotError(f"{what} failed: {typ} {data!r}")
        return data

    def create_folder(self, user: str, folder: str) -> None:
        with self.connect(user) as c:
            typ, data = c.create(_imap_quote(folder))
            if typ != "OK" and b"ALREADYEXISTS" not in b" ".join(d for d in data if isinstance(d, bytes)):
                raise DovecotError(f"CREATE {folder} failed: {data!r}")

    def append(self, user: str, raw: bytes, folder: str = "INBOX", flags=(),
               date_time: float | None = None) -> int:
        """Deliver a message with IMAP APPEND; returns its UID (from APPENDUID)."""
        flag_str = "(" + " ".join(flags) + ")" if flags else None
        when = imaplib.Time2Internaldate(date_time if date_time is not None else time.time())
        with self.connect(user) as c:
            mbox = _imap_quote(folder)
            if folder.upper() != "INBOX":
                c.create(mbox)  # NO [ALREADYEXISTS] is fine
            typ, data = c.append(mbox, flag_str, when, raw)
            self._check(typ, data, f"APPEND to {folder}")
        m = re.search(rb"APPENDUID \d+ (\d+)", b" ".join(d for d in data if isinstance(d, bytes)))
        if not m:
            raise DovecotError(f"no APPENDUID in {data!r}")
        return int(m.group(1))

    def uids(self, user: str, folder: str = "INBOX") -> list[int]:
        with self.connect(user) as c:
            self._check(*c.select(_imap_quote(folder), readonly=True), f"SELECT {folder}")
            data = self._check(*c.uid("SEARCH", "ALL"), "UID SEARCH")
        return [int(x) for x in (data[0] or b"").split()]

    def flags(self, user: str, uid: int, folder: str = "INBOX") -> set[str]:
        with self.connect(user) as c:
            self._check(*c.select(_imap_quote(folder), readonly=True), f"SELECT {folder}")
            data = self._check(*c.uid("FETCH", str(uid), "(FLAGS)"), "UID FETCH FLAGS")
        for item in data:
            if isinstance(item, bytes) and b"FLAGS" in item:
                return {f.decode() for f in imaplib.ParseFlags(item)}
        raise DovecotError(f"no message with UID {uid} in {folder}")

    def fetch(self, user: str, uid: int, folder: str = "INBOX") -> bytes:
        """The raw message (BODY.PEEK[]: does not set \\Seen)."""
        with self.connect(user) as c:
            self._check(*c.select(_imap_quote(folder), readonly=True), f"SELECT {folder}")
            data = self._check(*c.uid("FETCH", str(uid), "(BODY.PEEK[])"), "UID FETCH")
        for item in data:
            if isinstance(item, tuple):
                return item[1]
        raise DovecotError(f"no message with UID {uid} in {folder}")

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        with self.connect(user) as c:
            data = self._check(*c.status(_imap_quote(folder), "(UIDVALIDITY)"), "STATUS")
        m = re.search(rb"UIDVALIDITY (\d+)", data[0])
        if not m:
            raise DovecotError(f"no UIDVALIDITY in {data!r}")
        return int(m.group(1))

    def reset_uidvalidity(self, user: str, folder: str = "INBOX") -> None:
        """Force a new UIDVALIDITY (messages stay, UIDs restart at 1) by dropping dovecot's uidlist and
        indexes for the folder, as happens when a mailbox is rebuilt or restored on a real server."""
        path = self.maildir(user, folder)
        for name in os.listdir(path):
            if name == "dovecot-uidlist" or name.startswith("dovecot.index") or name == "dovecot.list.index":
                try:
                    (path / name).unlink()
                except FileNotFoundError:
                    pass
        # Messages renamed with a ",U=" suffix or kept in cur/ keep their content; dovecot reassigns UIDs.

    def delete_all(self, user: str, folder: str = "INBOX") -> None:
        with self.connect(user) as c:
            self._check(*c.select(_imap_quote(folder)), f"SELECT {folder}")
            c.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
            c.expunge()


# ---------------------------------------------------------------------- SMTP sink
@dataclass
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer: object = None
    received_at: float = field(default_factory=time.time)

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)


class _SinkHandler:
    def __init__(self, sink: "SmtpSink"):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.sink.fail_rcpt:
            return self.sink.fail_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.sink.fail_data:
            return self.sink.fail_data
        if self.sink.data_delay:
            self.sink._data_started()
            await asyncio.sleep(self.sink.data_delay)
            transport = getattr(server, "transport", None)
            if transport is None or transport.is_closing():
                return "451 4.4.2 Client gone before the reply"  # like a real MTA: not accepted, not kept
        content = envelope.original_content if envelope.original_content is not None else envelope.content
        if isinstance(content, str):  # pragma: no cover - decode_data is False
            content = content.encode("utf-8", "surrogateescape")
        self.sink._record(ReceivedMessage(envelope.mail_from, list(envelope.rcpt_tos), bytes(content),
                                          session.peer))
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps what it receives.

    ``fail_rcpt`` / ``fail_data``: set to an SMTP reply (e.g. ``SmtpSink.TEMPFAIL``) to reject at that
    stage; ``None`` accepts. ``stop()`` leaves nothing listening (SMTP outage); ``start()`` again
    listens on the same port.
    """

    TEMPFAIL = "451 4.3.0 Temporary failure, please try again later"
    PERMFAIL = "550 5.1.1 User unknown"

    host = "127.0.0.1"

    def __init__(self, port: int | None = None, data_size_limit: int | None = 100 * 1024 * 1024):
        self.port = port or free_port()
        self.data_size_limit = data_size_limit
        self._messages: list[ReceivedMessage] = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._controller = None
        self.fail_rcpt: str | None = None
        self.fail_data: str | None = None
        self.data_delay: float = 0.0  # seconds the server holds DATA before answering (a slow relay)
        self.data_started = 0         # how many DATA commands began (with data_delay set)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> "SmtpSink":
        if self._controller is not None:
            return self
        from aiosmtpd.controller import Controller

        # A fresh Controller each time: a stopped one has closed its event loop.
        controller = Controller(_SinkHandler(self), hostname=self.host, port=self.port,
                                data_size_limit=self.data_size_limit, ready_timeout=10)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def set_mode(self, mode: str) -> None:
        """'accept' (default), 'tempfail' (451 on DATA) or 'reject' (550 on RCPT)."""
        self.fail_rcpt = self.PERMFAIL if mode == "reject" else None
        self.fail_data = self.TEMPFAIL if mode == "tempfail" else None
        if mode not in ("accept", "tempfail", "reject"):
            raise ValueError(mode)

    def _data_started(self) -> None:
        with self._cond:
            self.data_started += 1
            self._cond.notify_all()

    def wait_for_data_start(self, count: int, timeout: float = 30.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.data_started >= count, timeout):
                raise TimeoutError(f"expected {count} DATA command(s), got {self.data_started}")

    def _record(self, msg: ReceivedMessage) -> None:
        with self._cond:
            self._messages.append(msg)
            self._cond.notify_all()

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[ReceivedMessage]:
        """Block until at least ``count`` messages arrived (raises TimeoutError otherwise)."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._messages) >= count, timeout):
                raise TimeoutError(f"expected {count} message(s), got {len(self._messages)}")
            return list(self._messages)

    def __enter__(self) -> "SmtpSink":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
