import os

from flask import Flask

app = Flask(__name__)

GREETING = "hello from flask"


@app.get("/")
def index():
    return f"{GREETING} ({os.environ.get('APP_MODE', 'default mode')})"


@app.get("/healthz")
def health():
    return "ok"
