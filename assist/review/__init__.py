"""Supervisor review: conversation list and timeline, CSV export, metrics, experiments.

Read-only, for supervisors (and superusers); every view starts with
`access.review_conversations`, which answers 403 to anyone else.
"""
