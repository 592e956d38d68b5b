from flask import Flask

app = Flask(__name__)

GREETING = "hello from pipenv"


@app.get("/")
def index():
    return GREETING
