"""The WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi run``."""

import gc

from app import create_app

app = create_app()
# What start-up made (modules, the app, its templates' code: some 190,000 objects) lives as
# long as the process. Frozen, the collector no longer walks it: without this, a full
# collection every few hundred requests held the GIL for 100-170 ms, every thread of the
# worker waiting (measured with the consultation page's POSTs; bench/consultation_load.py).
gc.freeze()
