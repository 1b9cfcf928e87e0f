"""The REST API (/api/, Django REST framework): conversations, messages, picks, templates,
tokens. Views are adapters over the live services; the schema is at /api/schema/."""
