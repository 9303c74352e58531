"""API routers, one module per resource; ``app.create_app`` mounts them under ``/v1``."""
