"""Importing conversation logs (JSONL, all-or-nothing): `manage.py import_conversations`.

jsonl.py parses and checks records (no database); conversations.py stores them.
"""
