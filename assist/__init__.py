"""The live-assist app (one app label, `assist`), split into packages by domain.

- live/: the live loop: WebSocket consumers, events, message/suggestion/pick services, tasks
- serving/: which model version ranks (per-process state), new-template retrieval, re-ranker
- review/: supervisor pages, metrics, statistics, charts, experiment assignment
- lifecycle/: model registry, retraining, training-data export, PII scrubbing
- imports/: conversation import; api/: the REST API; demo/: the demo helpdesk and data
- access.py, roles.py, tokens.py, errors.py, labels.py (when a reply counts as sending its
  template): shared by all of them

Dependencies point one way: live may import serving, review (experiment assignment),
lifecycle's scrubbing and the top-level modules; serving, review, lifecycle and imports never
import live. Services enqueue Celery tasks by name through live/dispatch.py, never by import.
"""
