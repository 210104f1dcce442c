"""Running a clinic: clinics and staff accounts, protocol versions and the builder,
backups and the demo data."""
