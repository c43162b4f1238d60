"""gunicorn for the desk's HTTP (WSGI): ``gunicorn -c deploy/gunicorn.conf.py supportdesk.wsgi:application``.

Websockets are not served here: /ws/ goes to daphne (ASGI), split by path in the balancer
(deploy/haproxy/haproxy.cfg). Why WSGI for HTTP: bench/README.md, "Serving HTTP". In short, every
view is synchronous, and under ASGI each request pays a hop into a thread and, with CONN_MAX_AGE=0,
a new PostgreSQL connection; a gthread worker runs the view in a long-lived thread that keeps its
connection (set CONN_MAX_AGE, e.g. 60: at most workers x threads connections per process).

Read from the environment: ``WEB_BIND`` (default ``0.0.0.0:8000``), ``WEB_CONCURRENCY`` (worker
processes, default 2: one per core), ``WEB_THREADS`` (threads per worker, default 4; keep the
balancer's per-server ``maxconn`` at workers x threads).
"""

from __future__ import annotations

import os

bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# gthread: a request that waits on PostgreSQL or SMTP holds a thread, not the whole process; a long
# CSV export streams from one thread while the others serve.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
# Longer than the balancer keeps an idle connection to us, so we never close one it is about to
# reuse (it retries GETs on such a race, not POSTs).
keepalive = 75
# A worker stuck this long is killed and replaced (the balancer retries the GETs it held).
timeout = 60
graceful_timeout = 20
# The balancer sets X-Forwarded-Proto/-For; Django reads them (SECURE_PROXY_SSL_HEADER,
# TRUST_PROXY_HEADERS). gunicorn itself only needs to accept them from the balancer.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
# Load the app once in the master: workers fork with Django imported (faster start, shared pages).
# Connections are opened after the fork (Django opens them per thread on first use).
preload_app = True
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# The listen queue, as daphne's: a restart of a sibling sends its share of clients here at once.
backlog = 1024
