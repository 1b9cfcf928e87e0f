"""The demo: a helpdesk page that plays customer and agent (on with the local settings), the
demo catalog, and the generator of the demo conversations that `make run` trains on."""
