from flask import Flask

app = Flask(__name__)

GREETING = "hello from poetry"


@app.get("/")
def index():
    return GREETING
