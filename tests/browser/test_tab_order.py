"""The Tab key alone, on every main page: the skip link comes first, every visible control is reached,
the focus never lands on something unseen, the stops follow the reading order, and the focused
control shows an outline.

The controls expected are computed from the page itself (links, buttons, fields, selects and the
``<summary>`` of a ``<details>``, less the hidden and disabled ones), so a control added to a
template is checked without touching this test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from components import services
from components.models import ComponentKind
from instances import services as instance_services
from tests.instances import sweeping
from tests.instances.sweeping import checked_component, refused_instance, sweep_rounds

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMPONENT_TABS = (
    "",
    "ports/",
    "connection-info/",
    "dependencies/",
    "environment/",
    "health-check/",
    "events/",
    "settings/",
)
# A row of the page: a later stop may sit beside the previous one (a toolbar, a table row) but not
# further up than this inside the same region.
ROW = 40
PHONE = {"width": 390, "height": 844}

# Every control a keyboard user should reach, as the test sees the DOM: marked with data-kb-expected.
MARK_EXPECTED = """() => {
  const selector = 'a[href], area[href], button, input, select, textarea, summary, [tabindex]';
  const shown = (e) => {
    if (!e.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) return false;
    const box = e.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  };
  const radioGroups = new Set();
  let count = 0;
  for (const e of document.querySelectorAll(selector)) {
    e.removeAttribute('data-kb-expected');
    if (e.classList.contains('skip-link')) continue;
    if (e.matches('input[type=hidden], [disabled], [tabindex="-1"], [inert] *, fieldset[disabled] *')) continue;
    if (e.tagName === 'SUMMARY' && e.parentElement.tagName !== 'DETAILS') continue;
    if (!shown(e)) continue;
    if (e.matches('input[type=radio]')) {
      // One stop per group of radio buttons; the arrows move inside it.
      const key = (e.form ? e.form.id || e.form.action : '') + '|' + e.name;
      if (radioGroups.has(key)) continue;
      radioGroups.add(key);
      e.setAttribute('data-kb-radio', key);
    }
    e.setAttribute('data-kb-expected', String(count++));
  }
  return count;
}"""

# The focused element: what it is, where it is, whether it can be seen and whether it shows the focus.
FOCUS = """() => {
  const e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) return null;
  const box = e.getBoundingClientRect();
  const style = getComputedStyle(e);
  let ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
    || (style.boxShadow && style.boxShadow !== 'none');
  if (!ring && e.closest('svg')) {
    // An SVG node draws its focus as the stroke of its shape.
    const shape = e.querySelector('rect, circle, path');
    if (shape) ring = ring || parseFloat(getComputedStyle(shape).strokeWidth) >= 2;
  }
  // Something drawn over the control (an open menu, a sticky bar) hides it as surely as display: none.
  // (The first line's box: a link that wraps has a gap in the middle of its bounding box.)
  const line = e.getClientRects()[0] || box;
  const hit = document.elementFromPoint(line.left + line.width / 2, line.top + line.height / 2);
  const covered = hit !== null && !e.contains(hit) && !(hit.tagName === 'LABEL' && hit.control === e);
  const region = e.closest('header, aside, main, footer');
  const radio = e.getAttribute('data-kb-radio');
  return {
    expected: e.getAttribute('data-kb-expected'),
    radio: radio,
    label: (e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' "'
      + (e.getAttribute('aria-label') || e.textContent || e.value || e.name || '').trim().replace(/\\s+/g, ' ').slice(0, 50) + '"'),
    skip: e.classList.contains('skip-link'),
    covered: covered ? hit.tagName.toLowerCase() + (hit.className ? '.' + String(hit.className).split(' ')[0] : '') : null,
    visible: e.checkVisibility({checkOpacity: true, checkVisibilityCSS: true}) && box.width > 0 && box.height > 0
      && box.bottom > -window.scrollY && box.right > 0,
    top: box.top + window.scrollY,
    left: box.left,
    height: box.height,
    region: region ? region.tagName.toLowerCase() : 'page',
    ring: ring,
  };
}"""

MISSED = """() => Array.from(document.querySelectorAll('[data-kb-expected]'))
  .filter((e) => !e.hasAttribute('data-kb-reached'))
  .map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' "'
    + (e.getAttribute('aria-label') || e.textContent || e.value || e.name || '').trim().replace(/\\s+/g, ' ').slice(0, 50) + '"')"""


def _walk(page, url: str, prepare: Callable[[Any], None] | None = None) -> list[str]:
    """Tab through ``url`` from the top (after ``prepare`` put the page in the state to walk, the
    focus back at the top); the problems found, each naming the page and the control."""
    page.goto(url)
    path = url.split("/", 3)[-1]
    if prepare is not None:
        prepare(page)
        path += " (" + prepare.__doc__.strip() + ")"
        # Back to the top, as a fresh page: the next Tab starts from the body, not from the click.
        page.evaluate(
            "() => { const b = document.body; b.tabIndex = -1; b.focus(); b.removeAttribute('tabindex');"
            " window.scrollTo(0, 0); }"
        )
    expected = page.evaluate(MARK_EXPECTED)
    problems: list[str] = []
    stops: list[dict] = []
    for _ in range(expected + 20):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUS)
        if stop is None or (stops and stop["skip"]):
            break  # back to the browser's own controls, or round to the top again
        page.evaluate("() => document.activeElement.setAttribute('data-kb-reached', '')")
        stops.append(stop)
    if not stops or not stops[0]["skip"]:
        problems.append(
            f"/{path}: the first Tab stop is {stops[0]['label'] if stops else 'nothing'}, not the skip link"
        )
    for stop in stops:
        if not stop["visible"]:
            problems.append(f"/{path}: the focus lands on {stop['label']}, which cannot be seen")
        if stop["covered"]:
            problems.append(f"/{path}: the focus lands on {stop['label']}, hidden under {stop['covered']}")
        if not stop["ring"]:
            problems.append(f"/{path}: {stop['label']} shows no focus outline")
    for previous, stop in zip(stops, stops[1:], strict=False):
        if stop["region"] != previous["region"]:
            continue
        if stop["region"] == "main" and stop["top"] < previous["top"] - ROW:
            problems.append(
                f"/{path}: after {previous['label']} (at {previous['top']:.0f} px) the focus goes up to "
                f"{stop['label']} (at {stop['top']:.0f} px)"
            )
        same_line = abs(stop["top"] - previous["top"]) < min(stop["height"], previous["height"]) / 2
        if same_line and stop["left"] < previous["left"]:
            problems.append(
                f"/{path}: on one line the focus goes back left from {previous['label']} to {stop['label']}"
            )
    # A radio group counts as reached when any of its buttons is.
    page.evaluate(
        """(keys) => { for (const k of keys) document.querySelectorAll('[data-kb-radio]').forEach(
             (e) => { if (e.getAttribute('data-kb-radio') === k) e.setAttribute('data-kb-reached', ''); }); }""",
        [stop["radio"] for stop in stops if stop["radio"]],
    )
    problems += [f"/{path}: Tab never reaches {missed}" for missed in page.evaluate(MISSED)]
    return problems


@pytest.mark.parametrize("screen", [{"width": 1280, "height": 720}, PHONE], ids=["desktop", "phone"])
def test_every_control_is_reached_in_reading_order(
    screen,
    logged_in_page,
    live_server,
    alice,
    alice_actor,
    team,
    application,
    static_component,
    internal_component,
    api_component,
    owned_console,
):
    channel = owned_console
    paths = [
        "/apps/",
        f"/apps/{application.slug}/",
        f"/teams/{team.slug}/",
        "/account/",
        "/account/tokens/",
        f"/teams/{team.slug}/channels/",
        f"/teams/{team.slug}/channels/{channel.pk}/",
        "/down/",
    ]
    for component in (static_component, internal_component, api_component):
        paths += [f"/components/{component.service_id}/{tab}" for tab in COMPONENT_TABS]

    logged_in_page.set_viewport_size(screen)
    problems: list[str] = []
    for path in paths:
        problems += _walk(logged_in_page, f"{live_server.url}{path}")

    def menu_open(page) -> None:
        """the Add component menu open"""
        page.get_by_text("Add component", exact=True).click()

    def token_created(page) -> None:
        """a new token shown"""
        page.get_by_label("Name").fill("deploy hook")
        page.get_by_role("button", name="Create token").click()
        page.locator("#new-token").wait_for()

    def key_revealed(page) -> None:
        """the secret key revealed"""
        page.get_by_role("region", name="API registration").get_by_role("button", name="Reveal").click()
        page.locator("#secret-key").filter(has_text=api_component.secret_key).wait_for()

    problems += _walk(logged_in_page, f"{live_server.url}/apps/{application.slug}/", menu_open)
    problems += _walk(logged_in_page, f"{live_server.url}/account/tokens/", token_created)
    problems += _walk(
        logged_in_page, f"{live_server.url}/components/{api_component.service_id}/", key_revealed
    )
    assert problems == [], "\n".join(problems)


serve = sweeping.serve
no_jitter = sweeping.no_jitter


@pytest.mark.usefixtures("no_jitter")
@pytest.mark.parametrize("screen", [{"width": 1280, "height": 720}, PHONE], ids=["desktop", "phone"])
def test_down_now_with_a_failing_component(
    screen, logged_in_page, live_server, application, alice_actor, serve
):
    mysql = checked_component(application, alice_actor, name="mysql", failure_threshold=1)
    refused_instance(mysql, alice_actor)
    orders = instance_services.component_create(
        application=application, name="orders", actor=alice_actor, kind=ComponentKind.INTERNAL
    )
    services.dependency_add(component=orders, target=mysql, actor=alice_actor)
    sweep_rounds(1)
    logged_in_page.set_viewport_size(screen)
    problems = _walk(logged_in_page, f"{live_server.url}/down/")
    assert logged_in_page.get_by_role("link", name="mysql").first.is_visible()
    assert problems == [], "\n".join(problems)


def test_on_a_phone_the_menu_button_opens_the_navigation_next_in_the_tab_order(
    logged_in_page, live_server, application
):
    page = logged_in_page
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/apps/")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUS)["label"] == 'button "Menu"'
    assert page.get_by_role("link", name=application.name).count() == 1  # the side bar's link is hidden
    page.keyboard.press("Enter")
    stops = []
    for _ in range(12):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUS)
        stops.append(stop)
        if stop["region"] == "main":
            break
    # The top bar's links, then the side bar it opened, seen and in reading order, then the content.
    assert [stop["region"] for stop in stops] == ["header"] * 5 + ["aside"] * 3 + ["main"]
    sidebar = [stop for stop in stops if stop["region"] == "aside"]
    assert [stop["label"] for stop in sidebar] == [f'a "{application.name}"', 'a "Members"', 'a "Alerts"']
    assert all(stop["visible"] and stop["ring"] for stop in sidebar)
    assert stops[4]["top"] < sidebar[0]["top"] < stops[-1]["top"]
