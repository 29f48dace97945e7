"""The Resources page says whether the app sleeps, and whether it is asleep now."""

import time

from django.urls import reverse

from api.services.sleep import sleep_enable
from runtime.sleep import SLEEPING_KEY


def test_resources_show_the_sleep_state(web, live_app, redis_client):
    page = reverse("dashboard:resources", kwargs={"app": live_app.name})
    assert 'id="sleep-state"' not in web.get(page).content.decode()
    sleep_enable(app=live_app, after="1h")
    assert "Sleeps after 1h without requests" in web.get(page).content.decode()
    redis_client.hset(SLEEPING_KEY, str(live_app.id), f"2 {time.time():.0f}")  # the runtime's
    try:
        body = web.get(page).content.decode()
    finally:
        redis_client.delete(SLEEPING_KEY)
    assert "Asleep since" in body and "the next request wakes the app" in body
