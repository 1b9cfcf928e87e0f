"""Development tools shared by tests/ and bench/: starting the real processes of the stack."""
