"""The panel's shell in Chromium: phone width without sideways scroll, the menu button, long names cut
with a tooltip, menus that close on Escape and outside clicks, and no serious accessibility problems."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.admin.browser import AXE, IN_CI, accessibility_problems, sign_in
from tests.conftest import Org

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
LONG_GROUP = "Platform" + "x" * 192  # 200 characters, no space to break at
LONG_EMAIL = "a" * (300 - len("@example.org")) + "@example.org"


@pytest.fixture
def tab_at(browser: Any, base_url: str, org: Org) -> Iterator[Callable[[dict[str, int]], Any]]:
    """A factory: a tab of the given size, signed in as the owner. Its context bypasses the CSP so that
    the accessibility check can load axe-core into the page."""
    contexts = []

    def _make(viewport: dict[str, int]) -> Any:
        context = browser.new_context(viewport=viewport, bypass_csp=True)
        contexts.append(context)
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        sign_in(tab, base_url, org.owner_email, org.password)
        assert tab.url.endswith("/admin/")
        return tab

    yield _make
    for context in contexts:
        context.close()


@pytest.fixture
def long_names(org: Org) -> tuple[str, str]:
    """A group with a 200-character name and a member with a 300-character email, with a key each."""
    group = org.group(LONG_GROUP)
    person = org.user(LONG_EMAIL, name="Ana " + "Ruiz" * 40)
    org.add_member(group, person, role="admin")
    org.key(name="k" * 150, owner_id=person, group_id=group)
    made = org.admin.post("/v1/manage/access-list", json={"name": "L" * 200, "chat": ["mock/" + "m" * 190]})
    assert made.status_code == 200, made.text
    return group, person


def _main_pages(group: str, person: str) -> list[str]:
    return [
        f"/admin/users/{person}",
        "/admin/",
        "/admin/groups",
        f"/admin/groups/{group}",
        "/admin/users",
        "/admin/keys",
        "/admin/analytics",
        "/admin/recommendations",
        "/admin/alerts",
        "/admin/audit",
        "/admin/access",
        "/admin/requests",
        "/admin/me",
    ]


_TITLE_BACKGROUND = """() => {
    // The first painted background behind the page title, walking up from it.
    for (let el = document.querySelector("h1"); el; el = el.parentElement) {
        const style = getComputedStyle(el);
        if (style.backgroundImage !== "none") return {image: style.backgroundImage};
        if (style.backgroundColor !== "rgba(0, 0, 0, 0)") return {color: style.backgroundColor};
    }
    return {color: "rgb(255, 255, 255)"};
}"""


def _light(color: str) -> bool:
    red, green, blue = (int(part) for part in color[color.index("(") + 1 : color.index(")")].split(",")[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue > 180


def test_phone_width_has_no_sideways_scroll_and_titles_on_a_light_band(
    tab_at: Callable[[dict[str, int]], Any], base_url: str, long_names: tuple[str, str]
) -> None:
    tab = tab_at(PHONE)
    for path in _main_pages(*long_names):
        response = tab.goto(base_url + path)
        assert response.status == 200, path
        width = tab.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"{path} scrolls sideways: {width[0]} px wide at {width[1]} px"
        background = tab.evaluate(_TITLE_BACKGROUND)
        assert "image" not in background, f"{path}: the title sits on {background['image']}"
        assert _light(background["color"]), f"{path}: the title sits on {background['color']}"


def test_long_names_are_cut_and_keep_the_whole_name_as_a_tooltip(
    tab_at: Callable[[dict[str, int]], Any], base_url: str, long_names: tuple[str, str]
) -> None:
    group, _ = long_names
    tab = tab_at(PHONE)
    tab.goto(f"{base_url}/admin/groups/{group}")
    for text in (LONG_GROUP, LONG_EMAIL):
        cut = tab.locator(f".truncate[title='{text}']").first
        assert cut.inner_text() == text
        assert cut.evaluate("el => el.scrollWidth > el.clientWidth")  # shown in part
    tab.goto(f"{base_url}/admin/users")
    assert tab.locator(f".truncate[title='{LONG_EMAIL}']").count() == 1
    assert tab.locator(f".chip[title='{LONG_GROUP}']").count() == 1


def test_the_menu_button_opens_and_closes_the_navigation_on_a_phone(
    tab_at: Callable[[dict[str, int]], Any], base_url: str
) -> None:
    tab = tab_at(PHONE)
    groups_link = tab.locator("nav a[href='/admin/groups']")
    button = tab.locator(".menu-button")
    assert not groups_link.is_visible()
    assert button.get_attribute("aria-expanded") == "false"
    button.click()
    assert groups_link.is_visible()
    assert button.get_attribute("aria-expanded") == "true"
    button.click()
    assert not groups_link.is_visible()
    button.click()
    tab.keyboard.press("Escape")
    assert not groups_link.is_visible()
    groups_link_desktop = tab_at(DESKTOP).locator("nav a[href='/admin/groups']")
    assert groups_link_desktop.is_visible()
    assert not groups_link_desktop.page.locator(".menu-button").is_visible()


def test_a_menu_closes_on_escape_on_a_click_outside_and_when_another_opens(
    tab_at: Callable[[dict[str, int]], Any], base_url: str, org: Org
) -> None:
    org.key(name="menu-one")
    org.key(name="menu-two")
    ids = {k["name"]: k["id"] for k in org.admin.get("/v1/manage/apikey").json()["keys"]}
    first, second = ids["menu-one"], ids["menu-two"]
    tab = tab_at(DESKTOP)
    tab.goto(f"{base_url}/admin/keys")
    one = tab.locator(f"tr[data-key-id='{first}'] details.menu")
    two = tab.locator(f"tr[data-key-id='{second}'] details.menu")
    is_open = "el => el.open"
    one.locator("summary").click()
    assert one.evaluate(is_open)
    tab.keyboard.press("Escape")
    assert not one.evaluate(is_open)
    assert one.locator("summary").evaluate("el => el === document.activeElement")
    one.locator("summary").click()
    one.locator("input[name=monthly_limit]").click()  # inside: stays open
    assert one.evaluate(is_open)
    tab.locator("h1").click()
    assert not one.evaluate(is_open)
    one.locator("summary").click()
    two.locator("summary").focus()  # the open menu covers the other's button: by keyboard
    tab.keyboard.press("Enter")
    assert two.evaluate(is_open)
    assert not one.evaluate(is_open)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440px", "390px"])
def test_no_serious_accessibility_problems_on_the_main_pages(
    tab_at: Callable[[dict[str, int]], Any], base_url: str, long_names: tuple[str, str], viewport: dict[str, int]
) -> None:
    if not AXE.exists():
        reason = f"axe-core not found at {AXE} (npm install axe-core, as .ci/run does)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    tab = tab_at(viewport)
    problems = {}
    for path in _main_pages(*long_names):
        assert tab.goto(base_url + path).status == 200, path
        found = accessibility_problems(tab)
        if found:
            problems[path] = found
    assert problems == {}
