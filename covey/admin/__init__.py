"""The admin panel at /admin/: server-rendered pages over the same services as the management API."""
