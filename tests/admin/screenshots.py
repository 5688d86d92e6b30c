"""`make screenshots`: the panel's main pages from the demo organization, into docs/screenshots/*.png
at 1440 px wide, and the same pages at phone width (390 px) into docs/screenshots/phone-*.png.

Seeds a fresh demo database (the same `covey demo` makes), serves it, signs in as the demo owner in
Chromium and photographs each page.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from covey.config import Settings
from covey.demo.seed import seed
from covey.kit.db import Database, make_engine
from covey.migrations import runner
from covey.models import Group, in_org
from tests.admin.browser import chromium, live_server, missing_browser, sign_in

VIEWPORT = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def main(out: Path) -> None:
    reason = missing_browser()
    if reason is not None:
        sys.exit(f"cannot take screenshots: {reason}")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/covey.db"
        runner.upgrade(make_engine(url))
        db = Database.connect(url)
        with db.transaction() as session:
            seeded = seed(session)
            email, password = seeded.owner.label, seeded.password
            groups = {g.name: g.id for g in session.scalars(in_org(Group, seeded.org.id))}
        db.dispose()
        settings = Settings(database_url=url, config=Path(tmp) / "covey.toml")
        with live_server(settings) as base, chromium() as browser:
            context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
            page = context.new_page()
            sign_in(page, base, email, password)
            shots = {
                "overview": "/admin/",
                "groups": "/admin/groups",
                "group": f"/admin/groups/{groups['Backend Engineers']}",
                "users": "/admin/users",
                "keys": "/admin/keys",
                "analytics": "/admin/analytics",
                "access": "/admin/access",
                "recommendations": "/admin/recommendations",
                "alerts": "/admin/alerts",
            }
            for name, path in shots.items():
                page.goto(base + path)
                page.screenshot(path=str(out / f"{name}.png"), full_page=True)
                print(f"wrote {out / f'{name}.png'}")
            # A change made in the panel, so the audit log shows one.
            page.goto(base + shots["group"])
            row = page.locator("tr.member", has_text="Lukas Schneider")
            row.locator("summary").click()
            row.locator("select[name=to_group_id]").select_option(groups["DevOps Engineers"])
            row.locator("button[value=move]").click()
            page.wait_for_selector(".notice")
            page.goto(base + "/admin/audit")
            page.screenshot(path=str(out / "audit.png"))
            print(f"wrote {out / 'audit.png'}")
            page.goto(base + shots["group"])
            page.click("text=Add members")
            page.fill("#member-search", "a")
            page.wait_for_selector("#member-results li label")
            for box in page.locator("#member-results input:not([disabled])").all()[:3]:
                box.check()
            page.screenshot(path=str(out / "add-members.png"))
            print(f"wrote {out / 'add-members.png'}")
            context.close()
            phone = browser.new_context(viewport=PHONE, device_scale_factor=1)
            page = phone.new_page()
            sign_in(page, base, email, password)
            for name, path in {**shots, "access": "/admin/access", "audit": "/admin/audit"}.items():
                page.goto(base + path)
                page.screenshot(path=str(out / f"phone-{name}.png"))
                print(f"wrote {out / f'phone-{name}.png'}")
            page.goto(base + "/admin/")
            page.click(".menu-button")
            page.screenshot(path=str(out / "phone-menu.png"))
            print(f"wrote {out / 'phone-menu.png'}")
            phone.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
