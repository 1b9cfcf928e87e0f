"""The demo helpdesk's routes (issue: browser extension and demo helpdesk)."""

urlpatterns: list = []
