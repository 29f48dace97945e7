import pytest

from api.models import App
from api.services.config import config_update


@pytest.fixture
def set_config(user):
    def set_(app_name: str, **values):
        return config_update(app=App.objects.get(name=app_name), changes=values, user=user)

    return set_
