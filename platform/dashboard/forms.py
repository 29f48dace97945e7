"""Dashboard forms: they shape user input; the services decide whether it is valid."""

from django import forms
from django.conf import settings

from api.validation import DYNO_SIZES


class Form(forms.Form):
    """A form whose labels carry no trailing colon."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class AppCreateForm(Form):
    name = forms.CharField(
        max_length=30,
        required=False,
        help_text="Lowercase letters, digits and dashes. Leave empty for a random name.",
    )


class ScaleForm(Form):
    type = forms.CharField(max_length=30)
    quantity = forms.IntegerField(min_value=0)
    size = forms.ChoiceField(choices=[(name, name) for name in DYNO_SIZES])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quantity"].max_value = settings.PIER_MAX_PROCESSES_PER_TYPE
        self.fields["quantity"].widget.attrs["max"] = settings.PIER_MAX_PROCESSES_PER_TYPE


class ConfigVarForm(Form):
    key = forms.CharField(max_length=200)
    value = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 1}))


class ConfigDeleteForm(Form):
    key = forms.CharField(max_length=200)


class DomainForm(Form):
    hostname = forms.CharField(max_length=253, label="Domain")


class CollaboratorForm(Form):
    email = forms.EmailField(max_length=150)


class SwitchForm(Form):
    """Turn one setting on or off (Automated Certificate Management, HTTPS redirects)."""

    switch = "enabled"  # the field's name
    enabled = forms.ChoiceField(choices=[("on", "on"), ("off", "off")])

    @property
    def on(self) -> bool:
        return self.cleaned_data[self.switch] == "on"


class MaintenanceForm(SwitchForm):
    switch = "maintenance"
    enabled = None
    maintenance = forms.ChoiceField(choices=[("on", "on"), ("off", "off")])


class TokenForm(Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “laptop”.")


class AddonCreateForm(Form):
    # Free text, not choices: the service names what exists and says so when it doesn't.
    service = forms.CharField(max_length=30)
    plan = forms.CharField(max_length=30, required=False)
    alias = forms.CharField(
        max_length=60, required=False, label="As (optional)",
        widget=forms.TextInput(attrs={"placeholder": "DATABASE for DATABASE_URL"}))


class AddonAttachForm(Form):
    target = forms.CharField(max_length=30, label="App")
    alias = forms.CharField(max_length=60, required=False, label="As (optional)")


class ConfirmForm(Form):
    """Data is removed or overwritten only when the app's name is typed (as --confirm)."""

    action = "confirm"
    confirm = forms.CharField(max_length=30, label="Type the app's name to confirm")

    def __init__(self, *args, app_name: str, action: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.app_name = app_name
        self.action = action or self.action

    def clean_confirm(self):
        value = self.cleaned_data["confirm"].strip()
        if value != self.app_name:
            raise forms.ValidationError(f"Type {self.app_name} exactly to {self.action}.")
        return value


class AppDeleteForm(ConfirmForm):
    action = "delete this app"
