"""Import patients from an NDJSON file: an EHR's initial load (``patients.bulk_import``).

    python manage.py import_patients patients.ndjson --user ehr-load
    python manage.py import_patients sample.ndjson --generate 100000   # a made-up file

One patient a line, in the shape ``POST /api/patients/`` takes. Lines whose identifier
a patient already holds are skipped, so importing a file again adds nothing (and
finishes an import that stopped midway). Refused lines are reported on stderr, or with
``--errors`` into an NDJSON file of ``{"line", "errors"}``.
"""

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from faker import Faker

from patients.bulk_import import BATCH_SIZE, RowError, import_patients

# Locales of the made-up names and the language their people speak (as seed_scale's).
LOCALES = [
    ("en_US", "en", 0.40),
    ("es_MX", "es", 0.20),
    ("zh_CN", "zh-Hans", 0.08),
    ("vi_VN", "vi", 0.07),
    ("ar_SA", "ar", 0.07),
    ("fil_PH", "tl", 0.06),
    ("ru_RU", "ru", 0.06),
    ("ko_KR", "ko", 0.06),
]
NAMES_PER_LOCALE = 500
GENERATED_SYSTEM = "urn:example:ehr-import"
# Area codes in service, with 555 numbers (fictional): a different phone for each of
# the first 120,000 patients.
AREA_CODES = ["212", "305", "312", "404", "415", "503", "602", "617", "713", "720", "808", "206"]
ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]


class Command(BaseCommand):
    help = "Import patients from an NDJSON file, one patient a line (or make one: --generate)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The NDJSON file.")
        parser.add_argument("--user", help="The username the import is attributed to.")
        parser.add_argument("--errors", help="Write refused lines here (NDJSON) not to stderr.")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
        parser.add_argument(
            "--jobs",
            type=int,
            help="Worker processes that check and write batches side by side (PostgreSQL; "
            "by default one per CPU core). 1 imports in this process.",
        )
        parser.add_argument(
            "--generate",
            type=int,
            metavar="N",
            help="Write N made-up patients into the file instead of importing it.",
        )
        parser.add_argument("--seed", type=int, default=7, help="For --generate.")

    def handle(self, *args, file: str, user: str | None, errors: str | None, **options) -> None:
        if options["generate"] is not None:
            self._generate(Path(file), options["generate"], options["seed"])
            return
        if not user:
            raise CommandError("Name the user the import is attributed to: --user USERNAME.")
        actor = get_user_model().objects.filter(username=user, is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user {user!r}.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        jobs = options["jobs"] if options["jobs"] is not None else (os.cpu_count() or 1)
        if jobs < 1:
            raise CommandError("--jobs must be at least 1.")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No file {file!r}.")
        errors_file = open(errors, "w", encoding="utf-8") if errors else None  # noqa: SIM115

        def report(error: RowError) -> None:
            if errors_file is not None:
                errors_file.write(json.dumps({"line": error.line, "errors": error.errors}) + "\n")
            else:
                for text in error.lines():
                    self.stderr.write(text)

        try:
            with path.open("rb") as lines:
                result = import_patients(
                    lines=lines,
                    actor=actor,
                    source=path.name,
                    on_error=report,
                    batch_size=options["batch_size"],
                    jobs=jobs if connection.vendor == "postgresql" else 1,
                )
        finally:
            if errors_file is not None:
                errors_file.close()
        self.stdout.write(
            f"Imported {result.imported:,}, already present {result.present:,}, "
            f"refused {result.refused:,}, in {result.seconds:.1f} s "
            f"({result.rate:,.0f} patients/s)."
        )
        if result.refused and errors:
            self.stdout.write(f"The refused lines and why are in {errors}.")
        if result.imported:
            self.stdout.write(
                "Imported patients were not checked against those already registered: the "
                "population scan (patients.scan_duplicates, or POST /api/duplicates/scan/) "
                "finds the records that may be one person."
            )

    def _generate(self, path: Path, count: int, seed: int) -> None:
        if count < 1:
            raise CommandError("--generate must be at least 1.")
        with path.open("w", encoding="utf-8") as out:
            for patient in generated_patients(count, seed):
                out.write(json.dumps(patient, ensure_ascii=False) + "\n")
        self.stdout.write(f"Wrote {count:,} made-up patients to {path}.")


def generated_patients(count: int, seed: int = 7) -> Iterator[dict]:
    """Made-up patients as an EHR would send them: names drawn from Faker's pools per
    locale (drawn once: a Faker call per patient would be slower than the import), one
    identifier, one or two contact points (phones in the formats people write),
    one or two languages and two consents. Nothing describes a real person."""
    rng = random.Random(seed)
    pools = {}
    for locale, _, _ in LOCALES:
        fake = Faker(locale)
        fake.seed_instance(seed)
        pools[locale] = (
            list({fake.first_name_female() for _ in range(NAMES_PER_LOCALE)}),
            list({fake.first_name_male() for _ in range(NAMES_PER_LOCALE)}),
            list({fake.last_name() for _ in range(NAMES_PER_LOCALE)}),
        )
    locales = [locale for locale, _, _ in LOCALES]
    weights = [share for _, _, share in LOCALES]
    tags = {locale: tag for locale, tag, _ in LOCALES}
    formats = ["({a}) 555-{n}", "{a}-555-{n}", "+1 {a} 555 {n}", "{a}555{n}"]
    for number in range(count):
        locale = rng.choices(locales, weights)[0]
        female, male, family = pools[locale]
        sex = rng.choice(("female", "male"))
        given = rng.choice(female if sex == "female" else male)
        area = AREA_CODES[number // 10_000 % len(AREA_CODES)]
        phone = rng.choice(formats).format(a=area, n=f"{number % 10_000:04d}")
        contact_points = [{"system": "sms", "value": phone, "use": "mobile", "rank": 1}]
        if rng.random() < 0.5:
            email = f"patient{seed}.{number}@example.org"
            contact_points.append({"system": "email", "value": email, "use": "home", "rank": 2})
        language = tags[locale]
        languages = [{"language": language, "mode": "spoken", "preferred": True, "rank": 1}]
        if language != "en" and rng.random() < 0.5:
            languages.append({"language": "en", "mode": "written", "preferred": False, "rank": 2})
        yield {
            "family_name": rng.choice(family),
            "given_name": given,
            "birth_date": f"{rng.randint(1930, 2024)}-{rng.randint(1, 12):02d}-"
            f"{rng.randint(1, 28):02d}",
            "administrative_sex": sex,
            "interpreter_needed": "no" if language == "en" else "yes",
            "preferred_channel": rng.choice(("sms", "phone", "email")),
            "time_zone": rng.choice(ZONES),
            "identifiers": [{"system": GENERATED_SYSTEM, "value": f"G{seed}-{number:08d}"}],
            "contact_points": contact_points,
            "languages": languages,
            "consents": [
                {
                    "channel": "sms",
                    "purpose": "care_coordination",
                    "status": "opt_in",
                    "source": "in_person",
                },
                {
                    "channel": "sms",
                    "purpose": "marketing",
                    "status": rng.choice(("opt_in", "opt_out")),
                    "source": "paper_form",
                },
            ],
        }
