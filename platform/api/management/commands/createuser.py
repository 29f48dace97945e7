from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api.errors import PierError
from api.services.tokens import token_create, user_create


class Command(BaseCommand):
    help = "Create a Pier user and print a new API token as the last line of output."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument(
            "--password", help="also set a password (for `pier login` and the dashboard)"
        )
        parser.add_argument(
            "--token-only",
            action="store_true",
            help="mint another token for an existing user instead of creating one",
        )
        parser.add_argument("--token-name", default="createuser")

    def handle(self, *args, email, password, token_only, token_name, **options):
        try:
            if token_only:
                user = get_user_model().objects.filter(username=email.strip().lower()).first()
                if user is None:
                    raise CommandError(f"no user {email}: create it with `createuser {email}`")
            else:
                user = user_create(email=email, password=password)
                self.stderr.write(f"Created user {user.email}")
            _, plaintext = token_create(user=user, name=token_name)
        except PierError as e:
            hint = " (use --token-only to mint another token)" if "exists" in e.message else ""
            raise CommandError(e.message + hint) from e
        self.stdout.write(plaintext)
