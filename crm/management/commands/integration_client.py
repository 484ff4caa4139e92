"""Register an integration client: ``manage.py integration_client "Billing system"
--role billing --scope system/Patient.read --scope system/Appointment.read``. Prints
the client id and secret once; only a hash of the secret is kept."""

from django.core.management.base import BaseCommand, CommandError

from crm.errors import InvalidInput
from crm.integrations import integration_client_create
from crm.roles import Role


class Command(BaseCommand):
    help = "Register an OAuth2 integration client with its role and scopes."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--scope", action="append", required=True, dest="scopes")

    def handle(self, *args, name, role, scopes, **options):
        try:
            application, secret = integration_client_create(name=name, role=role, scopes=scopes)
        except InvalidInput as refused:
            raise CommandError(f"{refused} {refused.errors}") from None
        self.stdout.write(f"client_id: {application.client_id}\nclient_secret: {secret}\n")
        self.stdout.write("The secret is shown only now; keep it in the client's vault.\n")
