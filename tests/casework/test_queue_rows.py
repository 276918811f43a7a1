"""The queue's rows as rendered, pinned cell by cell for a few cases, for a handler, a unit head and a coordinator,
in Chinese and in English: the bulk-assign checkbox, the reference and its link, the new-message badge, date and
channel, title with its badges and related cases, item, lead unit, handler, status badge, deadline badge and report
count. A cheaper row template or a narrower row query must not drop or change any of it (whitespace between tags
aside)."""
import re

from sqlalchemy import select

from casework import workflow as casework
from casework.queue import deadline_badge
from core.localtime import local_datetime, local_today
from intake.followup import add_reporter_message
from intake.models import Report
from tests.casework.test_pages import log_in, staff  # noqa: F401 (staff is a fixture)
from tests.support.staff import open_case

WORDS = {  # the catalogue's words the rows show, per language
    "zh": {"web": "网站", "phone": "举报电话", "letter": "信件", "health": "兴隆台区卫生健康局", "to_accept": "待受理",
           "in_progress": "办理中", "acceptance": "受理决定", "handling": "办理期限", "left": "剩余 {n} 天",
           "untitled": "（无标题）", "disclosure": "主动说明", "new": "举报人新留言", "related": "相关线索",
           "same_text": "文字几乎相同", "uncertain": "该年尚无官方节假日安排，暂按周末计算。"},
    "en": {"web": "Website", "phone": "Phone", "letter": "Letter",
           "health": "District Health Bureau", "to_accept": "To accept", "in_progress": "In progress",
           "acceptance": "Acceptance decision", "handling": "Handling", "left": "{n} days left",
           "untitled": "(no title)", "disclosure": "Voluntary disclosure", "new": "New message from the reporter",
           "related": "Related", "same_text": "Nearly the same text",
           "uncertain": "No official holiday schedule for this year yet: counted with weekends only."},
}


def rows_of(page: str) -> dict[str, tuple[str, set[str]]]:
    """reference -> (the row's HTML with whitespace between tags dropped and runs of spaces made one, its related
    cases' part cut out), the related part's (reference, reason) pairs (their order among equals is not pinned)."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    out = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S):
        html = re.sub(r">\s+<", "><", re.sub(r"\s+", " ", tr)).strip()
        related = re.search(r'<small data-testid="queue-related">(.*?)</small>', html)
        pairs = set(re.findall(r'<a href="/cases/([^"]+)">\1</a> \(([^)]*)\)', related.group(1))) if related else set()
        html = html.replace(related.group(0), "<RELATED>") if related else html
        out[re.search(r'<td class="ref"><a href="/cases/([^"]+)">', html).group(1)] = (html, pairs)
    return out


def expected_row(w, case, reference, *, channel, title, handler=None, new=False, checkbox=False, disclosure=False):
    b = deadline_badge(case, local_today())
    assert b is not None and b.days > 0
    title_attr = f' title="{w["uncertain"]}"' if b.uncertain else ""
    return "".join([
        f'<td><input type="checkbox" name="case" value="{reference}" aria-label="{reference}"></td>' if checkbox else "",
        f'<td class="ref"><a href="/cases/{reference}">{reference}</a>',
        f'<br><span class="badge new-message" data-testid="new-message">{w["new"]}</span>' if new else "", "</td>",
        f'<td class="received"><span class="date">{local_datetime(case.received_at):%Y-%m-%d}</span><br>'
        f'<small>{w[channel]}</small></td>',
        f'<td class="title">{title}', f' <span class="badge">{w["disclosure"]}</span>' if disclosure else " ",
        "<br><RELATED></td>", f"<td>{case.item_code}</td>", f'<td>{w["health"]}</td>',
        f"<td>{handler.display_name} ({w['health']} · {handler.username})</td>" if handler else "<td>—</td>",
        f'<td><span class="badge {case.status}">{w[case.status]}</span></td>',
        f'<td class="due"><span class="badge {b.css}" data-testid="due-badge"{title_attr}><span class="due-part">'
        f'{"≈ " if b.uncertain else ""}{b.due}</span> · <span class="due-part">{w[b.stage]}</span> · '
        f'<span class="due-part">{w["left"].format(n=b.days)}</span></span></td>', "<td>1</td>"])


def test_queue_rows_show_every_field(app, session, ctx, staff):
    handler, head, coordinator = staff["health_handler"], staff["health_head"], staff["coordinator"]
    plain, plain_receipt = open_case(app, session, ctx, title="收受红包", channel="web")
    worked, worked_receipt = open_case(app, session, ctx, title="", channel="phone")
    casework.accept(session, head, worked)
    casework.assign(session, head, worked, handler)
    add_reporter_message(session, ctx, session.scalar(select(Report).where(Report.id == worked.report_id)), "还在收。")
    disclosed, disclosed_receipt = open_case(app, session, ctx, title="主动说明", channel="letter")
    disclosed.how_found = "disclosure"
    session.commit()
    refs = {c: r.reference for c, r in ((plain, plain_receipt), (worked, worked_receipt),
                                         (disclosed, disclosed_receipt))}
    assert plain.status == disclosed.status == "to_accept" and worked.status == "in_progress"
    assert {plain.next_due_stage, worked.next_due_stage} == {"acceptance", "handling"}

    for user, tab, shown in ((handler, "in_progress", [worked]), (head, "to_accept", [disclosed, plain]),
                             (coordinator, "all", [disclosed, worked, plain])):
        client = app.test_client()
        log_in(client, user)
        for lang in ("zh", "en"):
            if lang == "en":
                client.get("/lang/en")
            w = WORDS[lang]
            rows = rows_of(client.get(f"/queue?tab={tab}").get_data(as_text=True))
            assert list(rows) == [refs[c] for c in shown], (user.username, tab, lang)  # newest first
            for case in shown:
                html, related = rows[refs[case]]
                expected = expected_row(
                    w, case, refs[case], channel={plain: "web", worked: "phone", disclosed: "letter"}[case],
                    title={plain: "收受红包", worked: w["untitled"], disclosed: "主动说明"}[case],
                    handler=handler if case is worked else None, new=case is worked,  # nobody opened it since
                    checkbox=user is not handler, disclosure=case is disclosed)
                assert html == expected, (user.username, lang, refs[case])
                # the three reports have nearly the same text: each lists the two others as related
                assert related == {(refs[o], w["same_text"]) for o in refs if o is not case}, (user.username, lang)
