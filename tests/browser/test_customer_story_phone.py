"""Story 1, 5 and 6 end to end on a 390 px phone, in Finnish, as the customer would live it: sign in by
the link in the e-mail (read from a real local SMTP server), write about a service where there is an
outage and see "we already know" before writing, attach a photo of the modem and get the confirmation
e-mail, see an agent's reply with a picture and the incident's public update, and follow the status
of the postcode. On the way: a subscription whose service is not delivered where it is gets its
warning. Every customer page: nothing wider than the screen, no serious axe violation, a screenshot
in artifacts/phone-story-*.png for a person to look at."""

from __future__ import annotations

import io
import re
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone, translation
from django.utils.translation import gettext
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from customers.models import Area
from incidents.services import incident_post_update
from tests import factories
from tests.browser.conftest import session_cookie
from tests.browser.test_customer_pages_phone import ARTIFACTS, PHONE, check
from tests.notifications.conftest import text_and_html
from tickets.models import Attachment, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

EMAIL = "aino.virtanen@example.fi"


def fi(text: str) -> str:
    """What a Finnish reader sees for ``text``; a string left in English fails here."""
    with translation.override("fi"):
        out = gettext(text)
    assert out != text, f"not translated to Finnish: {text!r}"
    return out


def picture(path, *, label: str, size=(1600, 1200), fmt="JPEG") -> None:
    """A phone-camera-sized picture of something that looks like a modem with its lights."""
    image = Image.new("RGB", size, (235, 232, 225))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.rounded_rectangle((w * 0.15, h * 0.35, w * 0.85, h * 0.65), radius=40, fill=(40, 44, 52))
    for i, colour in enumerate([(0, 200, 80), (0, 200, 80), (230, 40, 40), (250, 170, 0)]):
        x = w * 0.25 + i * w * 0.1
        draw.ellipse((x, h * 0.47, x + 30, h * 0.47 + 30), fill=colour)
    draw.text((w * 0.2, h * 0.7), label, fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, fmt)
    path.write_bytes(out.getvalue())


def mail_to(sink, address: str, *, containing: str, timeout: float = 10.0):
    """The newest message to ``address`` whose text contains ``containing`` (waits a little: the
    outbox sends on commit, in the server's thread)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in reversed(sink.to(address)):
            text, _ = text_and_html(message)
            if containing in text or containing in str(message["Subject"]):
                return message, text
        time.sleep(0.1)
    raise AssertionError(f"no e-mail to {address} containing {containing!r}")


def shown(page, image) -> None:
    """The image really loaded: the preview answered with a picture the browser could decode."""
    expect(image).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle(), timeout=10_000
    )


def link_in(text: str, base_url: str, path: str) -> str:
    [url] = re.findall(re.escape(base_url) + re.escape(path) + r"[^\s]+/", text)
    return url


@pytest.fixture
def helsinki(db):
    fi_root = factories.AreaFactory(
        code="fi", name="Finland", names={"fi": "Suomi"}, kind=Area.Kind.COUNTRY, parent=None
    )
    helsinki = factories.AreaFactory(
        code="fi-18-091", name="Helsinki", names={"sv": "Helsingfors", "fi": "Helsinki"}, parent=fi_root
    )
    centre = factories.AreaFactory(
        code="fi-00100",
        name="00100 Helsinki",
        names={"fi": "00100 Helsinki (Keskusta)"},
        kind=Area.Kind.POSTCODE,
        parent=helsinki,
    )
    nagu = factories.AreaFactory(
        code="fi-21660",
        name="21660 Nagu",
        names={"fi": "21660 Nauvo"},
        kind=Area.Kind.POSTCODE,
        parent=fi_root,
    )
    email = factories.ServiceFactory(code="email", name="E-mail", names={"fi": "Sähköposti", "en": "E-mail"})
    mobile = factories.ServiceFactory(
        code="mobile-4g", name="Mobile broadband 4G", names={"fi": "Mobiililaajakaista 4G"}
    )
    broadband = factories.ServiceFactory(
        code="broadband", name="Fibre broadband", names={"fi": "Kuituliittymä"}
    )
    centre.services.add(email, broadband, mobile)
    nagu.services.add(email)  # no 4G out in the archipelago (story 5)
    router = factories.EquipmentFactory(
        code="huawei-b535",
        vendor="Huawei",
        model="B535-232 4G router",
        names={"fi": "Huawei B535-232 4G-reititin", "en": "Huawei B535-232 4G router"},
    )
    return {
        "helsinki": helsinki,
        "centre": centre,
        "nagu": nagu,
        "email": email,
        "mobile": mobile,
        "router": router,
    }


def test_a_finnish_customer_on_a_phone_lives_the_whole_story(
    chromium, live_server, smtp, settings, helsinki, ops, agent, axe_source, tmp_path
):
    ARTIFACTS.mkdir(exist_ok=True)
    cache.clear()  # the sign-in and subscription rate counters
    settings.SITE_URL = live_server.url  # the links in the e-mails point at this server
    customer = factories.CustomerFactory(name="Aino Virtanen", email=EMAIL, language="fi", user=None)
    factories.SubscriptionFactory(
        customer=customer,
        service=helsinki["email"],
        area=helsinki["centre"],
        equipment=None,
        address="Mannerheimintie 5",
    )
    factories.SubscriptionFactory(
        customer=customer,
        service=helsinki["mobile"],
        area=helsinki["nagu"],
        equipment=helsinki["router"],
        address="Kesämökki, Nauvo",
    )
    incident = factories.declare_incident(
        actor=ops,
        title="E-mail down",
        titles={"fi": "Sähköpostissa on häiriö", "en": "E-mail down"},
        services=[helsinki["email"]],
        areas=[helsinki["helsinki"]],
        public_message={"fi": "Sähköposti ei kulje juuri nyt. Vika on meidän päässämme. Pahoittelemme."},
        eta=timezone.now() + timedelta(hours=1),
    ).incident
    _, browser = chromium
    phone = browser.new_context(viewport=PHONE, locale="fi-FI")
    page = phone.new_page()

    # 1. Sign in by the e-mailed link: the customer has never had a login.
    page.goto(f"{live_server.url}/accounts/email-link/")
    page.get_by_label(fi("Your e-mail address")).fill(EMAIL)
    check(page, "story-sign-in", axe_source)
    page.get_by_role("button", name=fi("E-mail me a sign-in link")).click()
    _, text = mail_to(smtp, EMAIL, containing="/accounts/email-link/")
    page.goto(link_in(text, live_server.url, "/accounts/email-link/"))
    page.get_by_role("button", name=fi("Sign in to Supportdesk")).click()
    expect(page).to_have_url(re.compile(r"/my/tickets/$"))
    expect(page.get_by_role("heading", name="Sähköpostissa on häiriö")).to_be_visible()  # the outage on top
    check(page, "story-my-tickets", axe_source)

    # 2. Write about 4G at the summer house: not delivered there, said before writing.
    page.goto(f"{live_server.url}/my/tickets/new/")
    which = page.get_by_label(fi("Which service is it about?"))
    which.select_option(label="Mobiililaajakaista 4G — Kesämökki, Nauvo · Huawei B535-232 4G-reititin")
    expect(page.get_by_test_id("not-delivered")).to_contain_text("Mobiililaajakaista 4G")
    expect(page.get_by_test_id("not-delivered")).to_contain_text("21660 Nauvo")
    check(page, "story-not-delivered", axe_source)

    # 3. …then about e-mail, where there is an outage: "we already know", before a word is written.
    which.select_option(label="Sähköposti — Mannerheimintie 5")
    known = page.get_by_role("heading", name=fi("We already know about this"))
    expect(known).to_be_visible()
    expect(page.get_by_text("Vika on meidän päässämme")).to_be_visible()
    expect(page.get_by_test_id("not-delivered")).to_have_count(0)
    check(page, "story-we-already-know", axe_source)
    page.get_by_label(fi("Subject")).fill("Sähköposti ei toimi")
    page.get_by_label(fi("What happened?")).fill(
        "Aamusta asti posti ei ole kulkenut. Kuva modeemista liitteenä."
    )
    photo = tmp_path / "modeemi.jpg"
    picture(photo, label="modeemi")
    page.get_by_label(fi("Attachments")).set_input_files(str(photo))
    page.get_by_role("button", name=fi("Send"), exact=True).click()
    ticket = Ticket.objects.get(customer=customer)
    expect(page.get_by_role("heading", name="Sähköposti ei toimi")).to_be_visible()
    expect(page.get_by_text(ticket.reference).first).to_be_visible()
    shown(page, page.get_by_role("img", name=re.compile("modeemi.jpg")))  # their own photo
    assert Attachment.objects.get(ticket=ticket).content_type == "image/jpeg"
    _, confirmation = mail_to(smtp, EMAIL, containing=ticket.reference)
    assert "Hei" in confirmation
    check(page, "story-ticket-sent", axe_source)

    # 4. An agent answers from the desk with a picture of where the reset button is; ops posts an update.
    desk = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    desk.add_cookies([session_cookie(agent, live_server.url)])
    agent_page = desk.new_page()
    agent_page.goto(f"{live_server.url}/desk/tickets/{ticket.reference}/")
    agent_page.get_by_label("Message").fill(
        "Hei Aino! Sähköpostin häiriö on meillä. Kuvassa näet modeemin valot."
    )
    screenshot = tmp_path / "valot.png"
    picture(screenshot, label="valot", size=(900, 600), fmt="PNG")
    agent_page.locator(".reply-box").get_by_label("Attachments").set_input_files(str(screenshot))
    agent_page.get_by_role("button", name=re.compile("^Send to the customer")).click()
    expect(agent_page.get_by_text("Sent to the customer.")).to_be_visible()
    shown(agent_page, agent_page.get_by_role("img", name=re.compile("valot.png")))
    agent_page.screenshot(path=ARTIFACTS / "desk-story-reply-with-picture.png", full_page=True)
    desk.close()
    _, reply_mail = mail_to(smtp, EMAIL, containing="valot.png")
    assert f"{live_server.url}/my/tickets/{ticket.reference}/" in reply_mail
    incident_post_update(
        incident=incident,
        actor=ops,
        message={"fi": "Korjaus on käynnissä, posti alkaa kulkea tunnin sisällä.", "en": "Fix under way."},
    )

    # 5. The customer sees the reply, its picture (re-encoded, loaded), and the incident's update.
    page.reload()
    expect(page.get_by_text("Sähköpostin häiriö on meillä")).to_be_visible()
    shown(page, page.get_by_role("img", name=re.compile("valot.png")))
    expect(page.get_by_text("Korjaus on käynnissä")).to_be_visible()
    check(page, "story-reply-and-update", axe_source)

    # 6. Follow the status of their postcode: double opt-in through the e-mailed link.
    page.goto(f"{live_server.url}/status/?q=00100")
    expect(page.get_by_role("heading", name="Sähköpostissa on häiriö")).to_be_visible()
    page.get_by_label(fi("Your e-mail address")).fill(EMAIL)
    page.get_by_role("button", name=fi("Follow"), exact=True).click()
    expect(page.get_by_role("heading", name=fi("Check your e-mail"))).to_be_visible()
    _, text = mail_to(smtp, EMAIL, containing="/status/subscribe/")
    page.goto(link_in(text, live_server.url, "/status/subscribe/"))
    page.get_by_role("button", name=fi("Yes, follow")).click()
    expect(page.get_by_role("heading", name=fi("You are following the service status"))).to_be_visible()
    check(page, "story-following", axe_source)
    phone.close()
