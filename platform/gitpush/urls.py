from django.urls import re_path

from gitpush.views import git_http

urlpatterns = [
    re_path(r"^(?P<app>[a-z][a-z0-9-]{1,29})\.git/(?P<path>.+)$", git_http, name="git"),
]
