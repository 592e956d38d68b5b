from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

app = FastAPI()

GREETING = "hello from fastapi"


@app.get("/", response_class=PlainTextResponse)
def index() -> str:
    return GREETING


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}
