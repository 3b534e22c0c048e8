"""The chat page (Gradio): `ui.app.build_app` builds it, `ui.app.serve` launches it."""
