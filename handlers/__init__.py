"""Business steps, one module per capability; each exports a `router` that app.py includes."""
