from django.core.exceptions import ValidationError


def validate_npi(value: str) -> None:
    """A National Provider Identifier: 10 digits, the last a Luhn check digit over
    the prefix 80840 and the first nine digits (CMS NPI check-digit algorithm)."""
    if len(value) != 10 or not value.isascii() or not value.isdigit():
        raise ValidationError("An NPI is exactly 10 digits.", code="invalid_npi")
    digits = [int(ch) for ch in "80840" + value[:9]]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    if (10 - total % 10) % 10 != int(value[9]):
        raise ValidationError("The NPI's check digit does not match.", code="invalid_npi")
