"""Full-text search over cases, for words of two characters or more (Chinese words mostly have two).

Every case has one index entry: the character bigrams of the name keys (routing.names: 繁體 -> 简体,
NFKC, lower case, punctuation and spaces dropped) of its reports' references and titles (weight A),
accused person, position and institution (B) and texts (D). A search term is the phrase of its bigrams,
so it matches exactly the texts whose key contains the term's key: "醫院" finds 医院, "000123" finds
XLT-2026-000123. On PostgreSQL the entry is a tsvector with positions (phrase <-> query, GIN index,
ts_rank); on SQLite an FTS5 row (phrase query, bm25). The entry follows every write through the ORM
events below (a new case, a report added to or moved off a case, a report's searchable text changed)
and casework.links.merge, which moves reports with one UPDATE, calls index_cases itself.
Each entry also carries its case's tab keys (casework.search_models; triggers of migration 0022 keep
them in step with the case's lead unit, status and units), so a search within a tab is one index
intersection (hits(..., keys=tab_keys(user, tab))). The walls (recusal and the rest) are applied by the
queue on the hits' case ids (casework.queue). The snippets shown with the results: casework.search_snippets."""
from __future__ import annotations

import re
import time
import unicodedata

from sqlalchemy import (
    Float,
    Integer,
    bindparam,
    cast,
    event,
    func,
    inspect,
    literal,
    select,
    table,
    text,
)
from sqlalchemy import (
    column as sql_column,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session

from casework.models import Case, CaseReport
from casework.recusal import DEFER  # one session.info flag defers both scans (casework.opening's batch)
from casework.search_models import FTS_TABLE, CaseSearch, fts_token, sqlite_keys_sql
from intake.models import Report
from routing.names import name_key

MIN_TERM = 2
MAX_TERMS = 8
SEARCHED = ("reference", "title", "accused_name", "accused_position", "accused_institution", "text")
COLUMNS = (("a", "A", ("reference", "title")), ("b", "B", ("accused_name", "accused_position",
                                                          "accused_institution")), ("d", "D", ("text",)))
MAX_POSITION = 16383  # PostgreSQL's limit: later bigrams share it (a phrase that far into a text may be missed)


def terms_of(q: str | None) -> list[str]:
    """The search terms: the words of the query (split at spaces) as name keys, those of two
    characters or more; every term must match."""
    terms = []
    for word in (q or "").split()[:MAX_TERMS * 2]:
        key = name_key(word)
        if len(key) >= MIN_TERM and key not in terms:
            terms.append(key)
    return terms[:MAX_TERMS]


REFERENCE = re.compile(r"\s*([A-Za-z]{2,8})[-_ ]?(\d{4})[-_ ]?(\d{6})\s*")


def reference_in(q: str | None) -> str | None:
    """The case reference a search is, in its stored form ("xlt2026000123" -> "XLT-2026-000123"), or None."""
    match = REFERENCE.fullmatch(unicodedata.normalize("NFKC", q or ""))
    return "-".join((match[1].upper(), match[2], match[3])) if match else None


def bigrams(key: str) -> list[str]:
    return [key[i:i + 2] for i in range(len(key) - 1)]


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


# --- the index ----------------------------------------------------------------------------------------

def _case_reports(session: Session, case_ids: list[int]) -> dict[int, list]:
    """Each case's reports: those it holds (case_reports), or its own when it has none and is not merged."""
    fields = [getattr(Report, name) for name in SEARCHED]
    held: dict[int, list] = {cid: [] for cid in case_ids}
    for row in session.execute(select(CaseReport.case_id, *fields).join(Report, Report.id == CaseReport.report_id)
                               .where(CaseReport.case_id.in_(case_ids)).order_by(CaseReport.id)):
        held[row[0]].append(row[1:])
    bare = [cid for cid, rows in held.items() if not rows]
    if bare:
        for row in session.execute(select(Case.id, *fields).join(Report, Report.id == Case.report_id)
                                   .where(Case.id.in_(bare), Case.status != "merged")):
            held[row[0]].append(row[1:])
    return held


def _columns(reports: list) -> dict[str, list[str]]:
    """The name keys of each index column's values (one value per field of each report)."""
    out = {column: [] for column, _w, _f in COLUMNS}
    for values in reports:
        row = dict(zip(SEARCHED, values))
        for column, _weight, names in COLUMNS:
            out[column].extend(k for k in (name_key(row[n]) for n in names) if len(k) >= MIN_TERM)
    return out


def tsvector_literal(columns: dict[str, list[str]]) -> str:
    """A tsvector in its input syntax: each bigram at its position with its column's weight; two
    positions between values so that no phrase runs from one field into the next."""
    lexemes: dict[str, list[str]] = {}
    position = 1
    for column, weight, _names in COLUMNS:
        for key in columns[column]:
            for gram in bigrams(key):
                lexemes.setdefault(gram, []).append(f"{min(position, MAX_POSITION)}{weight}")
                position += 1
            position += 2
    return " ".join("'" + gram.replace("\\", "\\\\").replace("'", "''") + "':" + ",".join(dict.fromkeys(p))
                    for gram, p in lexemes.items())


def index_cases(session: Session, case_ids) -> int:
    """Bring the index entries of these cases up to date with their reports (in the caller's transaction)."""
    case_ids = sorted({int(c) for c in case_ids if c is not None})
    if not case_ids:
        return 0
    held = _case_reports(session, case_ids)
    docs = {cid: _columns(rows) for cid, rows in held.items() if rows}
    with session.no_autoflush:
        if _dialect(session) == "postgresql":
            session.execute(CaseSearch.__table__.delete().where(CaseSearch.case_id.in_(case_ids)))
            if docs:
                session.execute(text("INSERT INTO case_search (case_id, tsv) VALUES (:case_id, CAST(:tsv AS tsvector))"),
                                [{"case_id": cid, "tsv": tsvector_literal(cols)} for cid, cols in docs.items()])
        else:
            session.execute(text(f"DELETE FROM {FTS_TABLE} WHERE rowid IN :ids").bindparams(
                bindparam("ids", expanding=True)), {"ids": case_ids})
            if docs:
                keys = f", k) VALUES (:case_id, :a, :b, :d, {sqlite_keys_sql(':case_id')})" if _has_keys(session) \
                    else ") VALUES (:case_id, :a, :b, :d)"  # migration 0019's rebuild, before 0022 added k
                session.execute(text(f"INSERT INTO {FTS_TABLE} (rowid, a, b, d" + keys),
                                [{"case_id": cid, **{c: " ".join(g for k in cols[c] for g in bigrams(k))
                                                     for c, _w, _n in COLUMNS}} for cid, cols in docs.items()])
    return len(docs)


_KEYED: set[str] = set()  # the SQLite databases whose FTS table has its k column (migration 0022)


def _url(session: Session) -> str:
    bind = session.get_bind()  # an Engine, or a Connection (a migration's session)
    return str(getattr(bind, "engine", bind).url)


def _has_keys(session: Session) -> bool:
    url = _url(session)
    if url not in _KEYED and any(row[1] == "k" for row in session.execute(text(f"PRAGMA table_info({FTS_TABLE})"))):
        _KEYED.add(url)
    return url in _KEYED


def rebuild(session: Session, batch: int = 2000) -> int:
    """Index every case again (after a bulk load; the caller commits)."""
    done, last = 0, 0
    while True:
        ids = list(session.scalars(select(Case.id).where(Case.id > last).order_by(Case.id).limit(batch)))
        if not ids:
            return done
        done += index_cases(session, ids)
        last = ids[-1]


# --- searching ----------------------------------------------------------------------------------------

def tab_keys(user, tab: str) -> list[str] | None:
    """The keys every entry of the tab carries (all of them), for `user`'s tab (casework.queue_tabs.TABS), with
    the unit's share of access (a unit sees the cases it leads or assists) built in; None for the deadline
    tabs, whose condition is on the case (its next due date): the queue joins the case for those, within
    the lead unit's keys (deadline_keys)."""
    unit = user.unit_code
    if tab in ("to_accept", "in_progress", "triage", "closed"):  # a unit sees what it leads (its lead row)
        return [f"s:{tab}"] if user.is_taskforce else [f"l:{unit}:{tab}"]
    if tab == "assisting":
        return [f"a:{unit}"]
    if tab == "all":
        return [] if user.is_taskforce else [f"v:{unit}"]
    return None


def deadline_keys(user) -> list[str]:
    """The keys of the deadline tabs' cases: with a next due date, led by the user's unit (any for the task force)."""
    return ["o:*"] if user.is_taskforce else [f"o:{user.unit_code}"]


def _tsquery(terms: list[str]):
    """The phrase of each term's bigrams, all terms required."""
    return cast(literal(" & ".join("(" + " <-> ".join(f"'{g}'" for g in bigrams(t)) + ")" for t in terms)), TSQUERY)


def _cover(term: str) -> list[str]:
    """The fewest bigrams that cover a term (every other one, and the last): what the GIN index looks up;
    the phrase of all its bigrams is then checked on each entry found. Every bigram looked up costs a
    walk of its posting list (a frequent one holds a third of all cases), and the overlapping ones add
    nothing that the phrase check does not decide."""
    grams = bigrams(term)
    return list(dict.fromkeys(grams[::2] + grams[-1:]))


def _looked_up(term: str, shares: dict[str, float]) -> list[str]:
    """The bigrams of a term the index looks up: its cover, or only the rarest of them where the statistics
    know them all (the others' posting lists, a third of all cases for 医院, would cost more to read than
    the phrase check on the fewer entries found)."""
    grams = _cover(term)
    if len(grams) > 1 and all(g in shares for g in grams):
        return [min(grams, key=shares.__getitem__)]
    return grams


def _index_tsquery(terms: list[str], shares: dict[str, float]):
    return cast(literal(" & ".join(f"'{g}'" for t in terms for g in _looked_up(t, shares))), TSQUERY)


def _fts_match(terms: list[str], keys=()) -> str:
    return " AND ".join(['"' + " ".join(bigrams(t)) + '"' for t in terms] + [f"k : {fts_token(k)}" for k in keys])


def hits(session: Session, terms: list[str], ranked: bool = True, keys: list[str] | tuple = ()):
    """A subquery (case_id, score) of the cases whose entry matches every term and carries every key;
    higher score first. ranked=False: the score is 0 (counting needs no rank)."""
    if _dialect(session) == "postgresql":
        query = _tsquery(terms)
        score = func.ts_rank(CaseSearch.tsv, query) if ranked else literal(0.0)
        stmt = select(CaseSearch.case_id.label("case_id"), score.label("score")).where(
            CaseSearch.tsv.op("@@")(_index_tsquery(terms, _stats(session)[0])))
        if any(len(t) > MIN_TERM for t in terms):  # the phrases, on each entry found (ts_match_vq is @@ unindexed)
            stmt = stmt.where(func.ts_match_vq(CaseSearch.tsv, query))
        if keys:
            stmt = stmt.where(CaseSearch.keys.contains(list(keys)))
        return stmt.subquery("hits")
    score = f"-bm25({FTS_TABLE}, 10.0, 4.0, 1.0, 0.0)" if ranked else "0.0"
    return (text(f"SELECT rowid AS case_id, {score} AS score FROM {FTS_TABLE} "
                 f"WHERE {FTS_TABLE} MATCH :match").bindparams(match=_fts_match(terms, keys))
            .columns(case_id=Integer, score=Float).subquery("hits"))


PROBE_US = 17.0  # one entry looked up by case id (or fetched from the heap) and its phrase checked, in µs
ITEM_US = 0.6    # one item of the shortest GIN posting list read (measured on the bench's 1,000,000, load ~5)
STATS_SECONDS = 600   # how long the index's statistics are kept here before they are read again
_STATS: dict[str, tuple[float, dict[str, float], float]] = {}  # url -> (read at, element -> share of rows, rows)


def _stats(session: Session) -> tuple[dict[str, float], float]:
    """PostgreSQL's statistics of the search entries: the share of rows holding each of its most common
    bigrams and keys (pg_stats, as ANALYZE left them), and the number of rows."""
    url = _url(session)
    held = _STATS.get(url)
    if held is None or time.monotonic() - held[0] > STATS_SECONDS:
        shares: dict[str, float] = {}
        for elems, freqs in session.execute(text(
                "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats "
                "WHERE tablename = 'case_search' AND attname IN ('tsv', 'keys')")):
            shares.update(zip(elems or (), freqs or ()))
        rows = float(session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'case_search'")) or 0)
        held = _STATS[url] = (time.monotonic(), shares, rows)
    return held[1], held[2]


def common(session: Session, terms: list[str], keys, need: int, every: bool = False, per_case: bool = False) -> bool:
    """Whether `need` matches of the terms among the entries with these keys are found at less cost by
    walking those cases and looking up each one's entry (about need / share of them) than through the GIN
    index, which reads the posting lists of the word and of the keys whole, then fetches the matches from the
    heap: `need` of them for a count, every one (every=True) for a page that sorts them. The shares are the
    statistics' (a bigram or key not among their most common ones is rare: the index); a phrase holds at
    most as many as its rarest bigram, and several terms are taken as independent. per_case: `need` is the
    number of cases to walk (a few days' deadlines), not of matches."""
    if _dialect(session) != "postgresql" or not terms:
        return False
    shares, rows = _stats(session)
    grams = [g for t in terms for g in _cover(t)]
    if not rows or any(g not in shares for g in grams) or any(k not in shares for k in keys):
        return False
    word = 1.0
    for term in terms:  # each term at most its rarest bigram's share; the terms taken as independent
        word *= min(shares[g] for g in _looked_up(term, shares))
    tab = min([shares[k] for k in keys], default=1.0)
    matches = word * tab * rows
    walk = PROBE_US * (need if per_case else need / max(word, 1e-9))
    # the intersection skips through the longer lists: about the shorter one is read
    index = ITEM_US * min([shares[g] for t in terms for g in _looked_up(t, shares)] + [tab]) * rows
    index += PROBE_US * (matches if every else min(need, matches))
    return walk < index


def matches_case(session: Session, terms: list[str], case_id):
    """SQL condition: the entry of the case whose id is `case_id` (a correlated column) matches every term,
    for walking a tab's cases in their index order when the matches are many. PostgreSQL: a look-up of that
    one entry per case (a scalar subquery the database cannot turn into a join)."""
    if _dialect(session) == "postgresql":
        return (select(CaseSearch.tsv.op("@@")(_tsquery(terms))).where(CaseSearch.case_id == case_id)
                .scalar_subquery())
    # SQLite: FTS5 answers one rowid with its whole query each time (~90 µs); the word's matches are instead
    # read once into the IN list's temporary index (its doclists, a few ms), and each case looked up there
    fts = table(FTS_TABLE, sql_column("rowid"))
    return case_id.in_(select(fts.c.rowid).where(text(f"{FTS_TABLE} MATCH :probe").bindparams(
        probe=_fts_match(terms))))


# --- keeping in step: the ORM events ----------------------------------------------------------------

_PENDING = "search_pending"


def _collect(session: Session, _flush_context) -> None:
    pending = session.info.setdefault(_PENDING, {"cases": set(), "reports": set()})
    for obj in session.new:
        if isinstance(obj, Case):
            pending["cases"].add(obj.id)
        elif isinstance(obj, CaseReport):
            pending["cases"].add(obj.case_id)
    for obj in session.dirty:
        if isinstance(obj, CaseReport):
            history = inspect(obj).attrs.case_id.history
            pending["cases"].update(history.added or ())
            pending["cases"].update(history.deleted or ())
        elif isinstance(obj, Case) and inspect(obj).attrs.status.history.has_changes():
            pending["cases"].add(obj.id)  # merged: its entry goes
        elif isinstance(obj, Report):
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in SEARCHED):
                pending["reports"].add(obj.id)


def _apply(session: Session, _flush_context) -> None:
    if not session.info.get(DEFER):
        run_pending(session)


def run_pending(session: Session) -> None:
    """Index the cases the flushes since the last run changed (once for a batch of flushes)."""
    pending = session.info.pop(_PENDING, None)
    if not pending or not (pending["cases"] or pending["reports"]):
        return
    cases = set(pending["cases"])
    with session.no_autoflush:
        if pending["reports"]:
            ids = sorted(pending["reports"])
            cases.update(session.scalars(select(CaseReport.case_id).where(CaseReport.report_id.in_(ids))))
            cases.update(session.scalars(select(Case.id).where(Case.report_id.in_(ids))))
        index_cases(session, cases)


def forget_pending(session: Session, *_args) -> None:
    """Drop what the flushes collected (rolled back: after_rollback, or a batch's failed savepoint)."""
    session.info.pop(_PENDING, None)


def listen() -> None:
    """Register the ORM events on every session (idempotent). Called when this module is imported."""
    if not event.contains(Session, "after_flush", _collect):
        event.listen(Session, "after_flush", _collect)
        event.listen(Session, "after_flush_postexec", _apply)
        event.listen(Session, "after_rollback", forget_pending)


listen()
