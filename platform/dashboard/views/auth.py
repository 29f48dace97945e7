"""Login and logout with Django sessions; users log in with their email as username."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.urls import reverse_lazy

from api.errors import RateLimited
from api.throttle import client_address, login_failed, login_throttle_check


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

    def post(self, request, *args, **kwargs):
        """Refuse while guessing is throttled: before the password is even checked."""
        try:
            login_throttle_check(account=self._account(), address=client_address(request.META))
        except RateLimited as e:
            context = self.get_context_data(form=self.get_form_class()(request),
                                            throttled=e.message)
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(e.retry_after)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        login_failed(account=self._account(), address=client_address(self.request.META))
        return super().form_invalid(form)

    def _account(self) -> str:
        return self.request.POST.get("username", "").strip().lower()


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("dashboard:login")
