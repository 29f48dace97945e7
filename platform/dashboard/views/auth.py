"""Login and logout with Django sessions; users log in with their email as username."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.urls import reverse_lazy


class EmailAuthenticationForm(AuthenticationForm):
    """Accept the email in any case: Pier stores user names (emails) in lowercase."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Wrong email or password.",
    }

    def __init__(self, request=None, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "Email"
        self.fields["username"].widget.attrs.update(type="email", autocomplete="email")

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()


class LoginView(auth_views.LoginView):
    template_name = "dashboard/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True
    next_page = reverse_lazy("dashboard:apps")


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("dashboard:login")
