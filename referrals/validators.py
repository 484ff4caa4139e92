from django.core.exceptions import ValidationError


def npi_check_digit(first_nine: str) -> int:
    """The Luhn check digit of an NPI, computed over the prefix 80840 and the first
    nine digits (CMS NPI check-digit algorithm)."""
    total = 0
    for position, digit in enumerate(int(ch) for ch in reversed("80840" + first_nine)):
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def validate_npi(value: str) -> None:
    """A National Provider Identifier: 10 digits, the last a check digit."""
    if len(value) != 10 or not value.isascii() or not value.isdigit():
        raise ValidationError("An NPI is exactly 10 digits.", code="invalid_npi")
    if npi_check_digit(value[:9]) != int(value[9]):
        raise ValidationError("The NPI's check digit does not match.", code="invalid_npi")
