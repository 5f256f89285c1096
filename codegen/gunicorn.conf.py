"""gunicorn settings for the topcp code generator.

Run from anywhere:  gunicorn -c codegen/gunicorn.conf.py
Binds 127.0.0.1:5000 unless TOPCP_CODEGEN_BIND says otherwise; the container image sets
TOPCP_CODEGEN_BIND=0.0.0.0:5000 because ServiceX's Service forwards port 8000 to 5000.
"""

import os

wsgi_app = "topcp_codegen:create_app()"
bind = [b.strip() for b in os.environ.get("TOPCP_CODEGEN_BIND", "127.0.0.1:5000").split(",")]
workers = int(os.environ.get("TOPCP_CODEGEN_WORKERS", "2"))
# Validation is CPU-bound and takes milliseconds; requests never wait on I/O.
worker_class = "sync"
timeout = int(os.environ.get("TOPCP_CODEGEN_TIMEOUT", "30"))
graceful_timeout = 10
# Build the app once in the master: a broken setting or installation stops start-up at once.
preload_app = True
accesslog = os.environ.get("TOPCP_CODEGEN_ACCESSLOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("TOPCP_CODEGEN_LOGLEVEL", "info")
