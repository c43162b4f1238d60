"""Benchmark e-mail intake: IMAP → tickets on Dovecot, PostgreSQL and Redis (see bench/README.md, "E-mail intake").

(a) ``--messages`` (10,000) generated messages are delivered to a throw-away Dovecot's maildir
    (tests/imap.py) and imported by ``tickets.mailboxes.poll_mailbox`` as the beat task does: one
    search, FETCH in batches of ``INTAKE_BATCH``, one transaction per message, the batch flagged after
    its imports committed. Mix: known customers' mail (Swedish text, quoted-printable or base64),
    replies threading by ``SD-n``, unknown senders, out-of-office, and small PDF attachments.
    Measured: messages per second and where the time goes (IMAP fetch, parsing, opening tickets with
    matching and the confirmation's outbox row, storing attachments, the rest of the import, flagging).
(b) Naive baseline, same run, another mailbox of ``--sample`` messages of the same mix: what a first
    version would do — fetch one message per round trip (imap-tools ``fetch``, bulk=False), import it,
    flag it alone.

Tasks the import enqueues (the confirmation e-mails) go to Redis with no worker; they are purged.

Run:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/supportdesk REDIS_URL=redis://127.0.0.1:6379/4 \\
      .venv/bin/python bench/bench_intake.py [--messages 10000] [--sample 1000] [--keep]
The database is ``supportdesk_bench_intake`` (dropped and re-created, dropped afterwards unless --keep).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from email.message import EmailMessage
from functools import wraps
from pathlib import Path

from benchdb import drop_database, recreate_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "supportdesk_bench_intake"
PDF = b"%PDF-1.4\n" + b"% filler line of a small invoice pdf\n" * 500 + b"%%EOF\n"  # ~19 kB
TEXT = (
    "Hej! Min router blinkar rött sedan i morse och jag får ingen förbindelse alls. "
    "Jag har startat om den två gånger. Vänliga hälsningar, Åsa Öberg"
)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=10_000)
    p.add_argument("--sample", type=int, default=1_000, help="messages in the naive baseline")
    p.add_argument("--customers", type=int, default=2_000)
    p.add_argument("--keep", action="store_true")
    return p.parse_args()


def make_message(n: int, *, tag: str, customers: list[str], tickets: list[int]) -> bytes:
    """Message ``n`` of the mix: 70 % new mail from a known customer, 10 % a reply by reference, 10 %
    an unknown sender, 5 % out-of-office, 5 % with a PDF attached."""
    kind = n % 20
    msg = EmailMessage()
    msg["To"] = "support@supportdesk.example"
    msg["Message-ID"] = f"<{tag}.{n}@mail.example.com>"
    msg["Date"] = "Sun, 29 Nov 2026 10:00:00 +0100"
    sender = customers[n % len(customers)]
    subject = f"Ingen förbindelse ({n})"
    if kind in (14, 15):
        subject = f"Re: [SD-{tickets[n % len(tickets)]}] Internet is down"
    elif kind in (16, 17):
        sender = f"stranger{n}@example.net"
    elif kind == 18:
        msg["Auto-Submitted"] = "auto-replied"
        subject = "Frånvaro: ingen förbindelse"
    msg["From"] = sender
    msg["Subject"] = subject
    msg.set_content(f"{TEXT} (nr {n})", cte="quoted-printable" if n % 2 else "base64")
    if kind == 19:
        msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="räkning.pdf")
    return msg.as_bytes()


class Timers:
    """Wall time spent inside named functions (nested ones are counted in their callers too)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.order: list[str] = []

    def wrap(self, owner, attr: str, name: str) -> None:
        original = getattr(owner, attr)
        self.order.append(name)

        @wraps(original)
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.spent[name] += time.perf_counter() - t0
                self.calls[name] += 1

        setattr(owner, attr, timed)


def deliver_all(mailbox, raws: list[bytes]) -> float:
    """Put the messages straight into the user's maildir, as a local delivery agent would (IMAP
    APPEND runs at ~60/s on a loaded machine: minutes spent on the fixture, not on what is measured)."""
    t0 = time.perf_counter()
    with mailbox.connect() as box:  # Dovecot creates the maildir at the first login
        box.folder.set("INBOX")
    maildir = mailbox.server.dir / "mail" / mailbox.user
    owner = os.stat(maildir)
    stamp = int(time.time())
    for n, raw in enumerate(raws):
        tmp = maildir / "tmp" / f"{stamp}.M{n}P{os.getpid()}.bench"
        tmp.write_bytes(raw)
        os.chown(tmp, owner.st_uid, owner.st_gid)
        tmp.rename(maildir / "new" / tmp.name)
    return time.perf_counter() - t0


def naive_poll(mailbox, label: str) -> int:
    """One FETCH per message, one STORE per message: the per-message round trips batching removes."""
    from tickets import services

    done = 0
    with mailbox.connect() as box:
        for msg in box.fetch(mark_seen=False, bulk=False):
            services.inbound_import(raw=msg.obj.as_bytes(), mailbox=label)
            box.flag(msg.uid, ("SupportdeskImported", "\\Seen"), True)
            done += 1
    return done


def main() -> None:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit("set DATABASE_URL (PostgreSQL) and REDIS_URL")
    os.environ["DATABASE_URL"] = recreate_database(url, BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    media = tempfile.mkdtemp(prefix="sd-bench-media-")
    os.environ["MEDIA_ROOT"] = media
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Count

    from customers.models import Customer
    from supportdesk.celery import app
    from supportdesk.seeding import ensure_catalogue, load_scale_data
    from tests.imap import DovecotServer
    from tickets import attachments, intake, mailboxes, services
    from tickets.models import Attachment, InboundMessage, Ticket

    app.conf.task_always_eager = False
    server = DovecotServer()
    try:
        call_command("migrate", verbosity=0)
        ensure_catalogue()
        load_scale_data(customers=args.customers, tickets_per_customer=0.2)
        customers = list(Customer.objects.exclude(email="").values_list("email", flat=True)[: args.customers])
        tickets = list(
            Ticket.objects.filter(customer__email__in=customers).values_list("pk", flat=True)[:500]
        )
        # Replies thread only onto the sender's own ticket: give each reply its ticket's customer.
        owner = dict(Ticket.objects.filter(pk__in=tickets).values_list("pk", "customer__email"))
        server.start()
        main_box, naive_box = server.mailbox(), server.mailbox()

        raws = []
        for n in range(args.messages):
            raw = make_message(n, tag="bench", customers=customers, tickets=tickets)
            if n % 20 in (14, 15):
                t = tickets[n % len(tickets)]
                raw = make_message(n, tag="bench", customers=[owner[t]], tickets=[t])
            raws.append(raw)
        sample = [
            make_message(n, tag="naive", customers=customers, tickets=tickets) for n in range(args.sample)
        ]
        t_deliver = deliver_all(main_box, raws)
        deliver_all(naive_box, sample)
        print(f"delivered {len(raws):,} messages to the maildir in {t_deliver:.1f} s")

        timers = Timers()
        timers.wrap(mailboxes, "_fetch_raw", "IMAP fetch (batches)")
        timers.wrap(services, "inbound_import", "import, whole (one transaction each)")
        timers.wrap(intake, "parse", "  parse + decode")
        timers.wrap(services, "ticket_open", "  ticket_open (matching, outbox row)")
        timers.wrap(services, "ticket_comment", "  ticket_comment (replies)")
        timers.wrap(services, "attachments_add", "  attachments_add (storage)")
        timers.wrap(attachments, "sniff", "    sniff")
        timers.wrap(mailboxes.MailBoxUnencrypted, "flag", "IMAP flag (batches)")
        (config,) = mailboxes.parse_urls(main_box.url)
        load0 = os.getloadavg()
        t0 = time.perf_counter()
        result = mailboxes.poll_mailbox(config)
        elapsed = time.perf_counter() - t0
        load1 = os.getloadavg()
        rate = result.imported / elapsed
        print(
            f"\nbatched poll: {result.imported:,} imported, {result.duplicates} duplicates in {elapsed:.1f} s"
            f" = {rate:.0f} messages/s   (load {load0[0]:.1f} → {load1[0]:.1f})"
        )
        for name in timers.order:
            spent = timers.spent[name]
            print(
                f"  {name:<42} {spent:7.1f} s  {100 * spent / elapsed:5.1f} %  ({timers.calls[name]:,} calls)"
            )
        by_status = dict(InboundMessage.objects.values_list("status").annotate(n=Count("id")).order_by())
        print(f"  outcome: {by_status}; attachments stored: {Attachment.objects.count():,}")

        t0 = time.perf_counter()
        naive = naive_poll(naive_box, "naive")
        naive_elapsed = time.perf_counter() - t0
        load2 = os.getloadavg()
        naive_rate = naive / naive_elapsed
        print(
            f"\nnaive baseline (fetch one, import, flag one): {naive:,} in {naive_elapsed:.1f} s ="
            f" {naive_rate:.0f} messages/s   (load {load2[0]:.1f});"
            f" batched / naive = {rate / naive_rate:.2f}×"
        )
        app.control.purge()
    finally:
        server.stop()
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(url, BENCH_DB)


if __name__ == "__main__":
    main()
