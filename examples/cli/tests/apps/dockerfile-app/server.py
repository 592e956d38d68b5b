"""A stdlib HTTP server: GET / answers with the greeting."""
from http.server import BaseHTTPRequestHandler, HTTPServer

GREETING = "hello from a dockerfile"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = GREETING.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("0.0.0.0", 9000), Handler).serve_forever()
