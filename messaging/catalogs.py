"""The message catalogs, kept with Babel: ``python -m messaging.catalogs update``
refreshes ``messages.pot`` and every language's ``messages.po`` from
``messaging/texts.py`` (keeping what translators wrote, marking changed English as
fuzzy); ``compile`` checks each translation keeps its template's placeholders and
writes the ``.mo`` files the app reads (``make`` runs it at install; they are not
committed). ``coverage`` prints the README's table of what is translated."""

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from messaging.texts import DOMAIN, LOCALE_DIR, PAGES, TEXTS, entries, placeholders

# The catalogs the clinic ships: the languages US patients with limited English speak
# most (Spanish, Chinese in both scripts, Vietnamese, Korean, Tagalog, Russian, Arabic,
# Haitian Creole, Portuguese).
LANGUAGES = ["es", "zh", "zh_Hant", "vi", "ko", "tl", "ru", "ar", "ht", "pt"]


def template() -> Catalog:
    catalog = Catalog(project="patient-crm", domain=DOMAIN, charset="utf-8")
    for context, english in entries():
        catalog.add(english, context=context)
    return catalog


def _po(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _read(language: str) -> Catalog:
    with _po(language).open("rb") as po:
        return read_po(po, locale=language, domain=DOMAIN)


def update() -> None:
    pot = template()
    with (LOCALE_DIR / f"{DOMAIN}.pot").open("wb") as out:
        write_po(out, pot, omit_header=False, sort_output=False)
    for language in LANGUAGES:
        path = _po(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = _read(language) if path.exists() else Catalog(locale=language, domain=DOMAIN)
        catalog.update(pot, no_fuzzy_matching=True)
        with path.open("wb") as out:
            write_po(out, catalog, ignore_obsolete=True, width=88)


def problems(catalog: Catalog) -> list[str]:
    """Translations that drop or invent a placeholder: they would fail to render."""
    return [
        f"{catalog.locale}: {message.context}: placeholders differ"
        for message in catalog
        if message.id
        and message.string
        and not message.fuzzy
        and placeholders(str(message.id)) != placeholders(str(message.string))
    ]


def compile_all() -> None:
    errors: list[str] = []
    for language in LANGUAGES:
        catalog = _read(language)
        errors += problems(catalog)
        with _po(language).with_suffix(".mo").open("wb") as out:
            write_mo(out, catalog)  # fuzzy entries are left out
    if errors:
        raise SystemExit("\n".join(errors))


def coverage() -> str:
    """A Markdown table: each template and page, and whether each language has it."""
    catalogs = {language: _read(language) for language in LANGUAGES}
    rows = ["| template | " + " | ".join(LANGUAGES) + " |", "|---" * (len(LANGUAGES) + 1) + "|"]
    for name in [*TEXTS, *(f"page.{page}" for page in PAGES)]:
        contexts = [c for c, _ in entries() if c.startswith(f"{name}.")]
        cells = []
        for language in LANGUAGES:
            done = [
                (m := catalogs[language].get(english, context=c)) is not None
                and bool(m.string)
                and not m.fuzzy
                for c, english in entries()
                if c in contexts
            ]
            cells.append("yes" if all(done) else ("partly" if any(done) else "no"))
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "compile"
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "coverage":
        print(coverage())
    else:
        raise SystemExit("usage: python -m messaging.catalogs [update|compile|coverage]")
