"""gunicorn settings for meeting day.

gunicorn -c python:survey.gunicorn_conf 'survey:create_app()'
"""

import multiprocessing
import os

bind = os.environ.get("BIND", "0.0.0.0:5000")
workers = int(os.environ.get("WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("THREADS", "1"))
timeout = 60
accesslog = "-"
logger_class = "survey.web.redaction.GunicornLogger"
# Several servers may run on one machine (two app servers, tests): no shared control socket.
control_socket_disable = True
