"""The model lifecycle: the registry of model versions (install, activate, roll back),
scheduled retraining, training-data export and PII scrubbing.

Commands: manage.py train_ranker, ensure_model, fit_external_reranker (assist/management/).
May import assist.models, templates_app and ranker; never assist.live.
"""
