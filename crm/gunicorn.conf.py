"""The production server: ``gunicorn -c crm/gunicorn.conf.py`` (``make serve``; README,
"Production server"). Any setting can still be overridden on the command line or in
``GUNICORN_CMD_ARGS``."""

import gc
import os
import tempfile
from pathlib import Path

from django.db import connections
from gunicorn.glogging import Logger
from prometheus_client import values

from crm.env import env_int, env_str
from crm.logging import StripQueryStrings

wsgi_app = "crm.wsgi:application"
bind = [f"{env_str('HOST', '127.0.0.1')}:{env_int('PORT', 8000, minimum=1)}"]

# Threads, not more processes: a request spends much of its time waiting on the
# database, and each process holds a whole copy of Django. Gunicorn's usual
# 2 x cores + 1 sync workers would be 5 processes on the 2-core machine, each serving
# one request at a time; one process per core with 4 threads serves 8 at once in less
# memory. Each thread keeps its own database connection: PostgreSQL needs
# workers x threads per server, plus the background workers.
worker_class = "gthread"
workers = env_int("WEB_CONCURRENCY", os.cpu_count() or 1, minimum=1)
threads = env_int("GUNICORN_THREADS", 4, minimum=1)

# A worker process that stops answering the master this long is restarted (with threads
# this limits no single request: the proxy in front does that). On a restart or a
# deploy, requests in flight get this long to finish.
timeout = 30
graceful_timeout = 30
# A proxy's idle connection stays open this long for its next request.
keepalive = 5
# Each worker is replaced after about this many requests, so a slow leak cannot grow
# for ever; the jitter keeps the workers from being replaced all at once.
max_requests = 1000
max_requests_jitter = 100
# The application is loaded once, in the master process, and each worker is a fork of
# it: a worker replaced after max_requests starts in milliseconds instead of loading
# Django again, a second and a half of a core (README, "Production server").
# A new release is served after a restart of the server, not after HUP.
preload_app = True

# Only Django decides which proxy headers to trust (SECURE_PROXY_SSL_HEADER,
# TRUSTED_PROXY_COUNT); gunicorn would otherwise trust them from 127.0.0.1.
forwarded_allow_ips = ""
# No control socket: it is one path per user, so two servers on a host would share it.
control_socket_disable = True

# The access log on stdout: the path without its query (search terms are patient data),
# no referrer (a patient's page is the referrer of its own form), the time taken and
# the request id the access log in the database also keeps.
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms %({x-request-id}o)s'


class ScrubbedLogger(Logger):
    """The same scrubbing as Django's log (crm/logging.py) on gunicorn's two logs: an
    error names the request's whole URL, and a patient's link has its token in the
    path."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, StripQueryStrings) for f in log.filters):
                log.addFilter(StripQueryStrings())


logger_class = ScrubbedLogger


# Prometheus (crm/metrics.py): each worker process writes its numbers to files in one
# folder, which a scrape adds up. Files are named by a worker's slot, not its process
# id, so a worker replaced after max_requests carries on its predecessor's counts
# instead of leaving another file for every scrape to read.
def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="crm-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    Path(folder).mkdir(parents=True, exist_ok=True)
    _clear_metrics()


def pre_fork(server, worker):
    connections.close_all()  # one the master opened would be shared by every fork
    taken = {other.metrics_slot for other in server.WORKERS.values()}
    worker.metrics_slot = min(set(range(len(taken) + 1)) - taken)


def post_fork(server, worker):
    values.ValueClass = values.MultiProcessValue(lambda: worker.metrics_slot)


def post_worker_init(worker):
    """Django and the application, loaded, move out of the collector's sight: they live
    as long as the process, and each full collection would otherwise walk them all
    again. At a million patients such passes were most of the 360's slowest reads:
    p95 153 ms against 51 ms p50; after this, 80 ms against 61 ms."""
    gc.collect()
    gc.freeze()


def on_exit(server):
    _clear_metrics()


def _clear_metrics():
    for stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        stale.unlink()
