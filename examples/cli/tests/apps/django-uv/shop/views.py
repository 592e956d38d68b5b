import redis
from django.conf import settings
from django.db import connection
from django.http import HttpResponse

GREETING = "hello from django"


def index(request):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS visits (at timestamptz DEFAULT now())")
        cursor.execute("INSERT INTO visits DEFAULT VALUES")
        cursor.execute("SELECT count(*) FROM visits")
        (visits,) = cursor.fetchone()
    hits = redis.Redis.from_url(settings.REDIS_URL).incr("hits")
    return HttpResponse(f"{GREETING}: visits={visits} hits={hits}", content_type="text/plain")


def health(request):
    return HttpResponse("ok", content_type="text/plain")
