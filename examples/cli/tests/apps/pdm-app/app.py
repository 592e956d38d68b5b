from flask import Flask

app = Flask(__name__)

GREETING = "hello from pdm"


@app.get("/")
def index():
    return GREETING
