"""Serving: which model version ranks in this process (hot swap without a pause), the active
catalog it ranks against, templates newer than the model (retrieval), the external re-ranker.

All per-process state is one object, state.STATE. May import assist.models, lifecycle's PII
scrubbing, templates_app and ranker; never assist.live.
"""
