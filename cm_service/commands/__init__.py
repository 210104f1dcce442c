"""`flask cm ...` commands beyond the core ones in cli.py: backups and API tokens."""
