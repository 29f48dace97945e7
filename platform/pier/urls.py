from django.urls import include, path

urlpatterns = [
    path("api/", include("api.urls")),
    path("", include("gitpush.urls")),
    path("", include("dashboard.urls")),
]

handler404 = "dashboard.views.errors.not_found"
