from flask import Flask

app = Flask(__name__)

GREETING = "hello from the api"


@app.get("/")
def index():
    return GREETING
