"""axe-core in the page under test: the copy bundled by the PyPI package axe-playwright-python (no network
at test time), injected with page.add_script_tag and run against WCAG 2.1 A/AA. `serious_violations`
returns the violations of impact "serious" or "critical", each with the selectors of its nodes."""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}


@lru_cache(maxsize=1)
def axe_source() -> str:
    return resources.files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")


def serious_violations(page) -> list[dict]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source())
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", TAGS)
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [" ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
                       for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in BLOCKING]


def describe(found: dict[str, list[dict]]) -> str:
    return "\n".join(f"{where}: {v['impact']} {v['id']} ({v['help']}) at {v['nodes']}"
                     for where, violations in found.items() for v in violations)
