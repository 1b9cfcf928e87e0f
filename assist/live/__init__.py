"""The live loop: a customer message in, a ranked list out to every panel watching.

consumers.py and routing.py (WebSocket), views.py (the panel page), messages.py, suggestions.py,
picks.py and rankings.py (the services that write), selectors.py and rendering.py (what a panel
is shown), sql.py (the hand-written statements of the hot path), events.py (pushes, after
commit), heartbeat.py (is a worker alive), tasks.py (Celery adapters), dispatch.py (enqueue by
task name), worker_signals.py (the worker's signal handlers).

May import assist.serving, assist.review.experiments, the top-level modules and
templates_app; nothing outside assist.live imports it except config (URLs, ASGI routing).
"""
