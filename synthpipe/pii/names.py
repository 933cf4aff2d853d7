"""Column-name evidence: which names say "email", "phone", "ssn", "age"...

Regular expressions run over the normalised column name token by token, so ``zip`` matches
``insured_zip`` but ``ip`` does not match ``zip``, and ``name`` does not match
``vehicle_make_name`` (a qualifier excludes it).
"""

from __future__ import annotations

import re


def normalize_name(name: object) -> str:
    """Lower-case snake form of a column name: ``InsuredZIPCode`` -> ``insured_zip_code``."""
    s = str(name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return re.sub(r"[^0-9a-zA-Z]+", "_", s).strip("_").lower()


def _tok(alternatives: str) -> re.Pattern[str]:
    """Regex matching whole ``_``-separated tokens of a normalised name."""
    return re.compile(rf"(?:^|_)(?:{alternatives})(?:_|$)")


# Qualifiers that turn "name" into something other than a person's name.
_NOT_PERSON = _tok(
    r"make|model|product|company|business|brand|file|street|city|state|country|vendor|org|"
    r"organi[sz]ation|bank|host|domain|table|column|field|dataset|item|category|type|plan|"
    r"hospital|school|employer|store|shop|branch|team|event|project|app|device|pet|vehicle|car|"
    r"auto|drug|disease|user|account|group|role|job|title|service|provider|carrier|insurer|"
    r"agency|department|dept|region|district|county|place|location|site|facility|venue|course|"
    r"program|campaign|package|module|class|key|tag|label|feature|metric|test|stage|status|"
    r"colou?r|sku|game|song|album|book|movie|channel|queue|server|database|db|bucket|path|"
    r"image|font|list|sheet|workflow|screen"
)
NAME_RULES: dict[str, tuple[re.Pattern[str], re.Pattern[str] | None]] = {
    "email": (_tok(r"e_?mail|mail|emails|emailaddress|email_?addr(?:ess)?"), None),
    "phone": (
        _tok(
            r"phone|phones|telephone|tel|mobile|cell|cellphone|phonenumber|fax|msisdn|"
            r"contact_number|phone_?no"
        ),
        None,
    ),
    "ssn": (_tok(r"ssn|social_security(?:_number|_no)?|socialsecurity\w*|social_sec"), None),
    "credit_card": (
        _tok(
            r"credit_?card(?:_number|_no|_num)?|card_?(?:number|no|num)|cc_?(?:number|num|no)|"
            r"cc|card|pan|cardnumber|creditcard"
        ),
        None,
    ),
    "iban": (_tok(r"iban|ibans|iban_?code|bank_?account(?:_?number|_?no)?"), None),
    "ip_address": (
        _tok(r"ip|ips|ip_?addr(?:ess)?|ipaddress|ipv4|ipv6|client_ip|remote_addr|host_ip"),
        None,
    ),
    "person_name": (
        _tok(
            r"name|names|full_?name|fullname|first_?name|firstname|last_?name|lastname|"
            r"surname|given_?name|forename|middle_?name|maiden_?name|family_?name|fname|lname|"
            # The same words in the languages of European insurers' exports (accents become
            # "_" in the normalised name: Prénom -> pr_nom).
            r"nom|prenom|nom_?de_?famille|nombre|apellidos?|vorname|nachname|familienname|"
            r"naam|voornaam|achternaam|nome|cognome|nazwisko|imie|efternamn|fornavn|etternavn"
        ),
        _NOT_PERSON,
    ),
    "street_address": (
        _tok(
            r"address|addr|street|street_?address|address_?line\d?|address\d|addr\d|location|"
            r"residence|line1|line2"
        ),
        _tok(r"ip|e_?mail|mac|url|web|wallet|ipaddress|emailaddress"),
    ),
    "postcode": (
        _tok(
            r"zip|zipcode|zip_?code|zip5|zip4|post_?code|postcode|postal|postal_?code|"
            r"postalcode|plz|pin_?code|pincode"
        ),
        None,
    ),
    "date_of_birth": (
        _tok(r"dob|birth|birthdate|birthday|birth_?date|date_?of_?birth|dateofbirth|born|bday"),
        _tok(r"country|place|city|state|weight|order|rank|year|yr|month|cert|certificate"),
    ),
    "identifier": (
        re.compile(
            r"(?:^|_)(?:id|uuid|guid|vin|iban|mrn|npi|ein|passport|username|user_?name|login|"
            r"screen_?name|handle|license_?plate|licence_?plate|plate_?number|national_?id|tax_?id"
            r"|account|acct)(?:_|$)"
            r"|(?:^|_)(?:number|num|nbr|no|code|ref|reference|key)$"
            r"|^(?:id|key)_"
        ),
        None,
    ),
}
QUASI_NAME_RULES: dict[str, tuple[re.Pattern[str], re.Pattern[str] | None]] = {
    "birth_year": (_tok(r"birth_?year|year_?of_?birth|yob|birthyear"), None),
    "age": (
        _tok(r"age|ages|age_?years|age_?group|age_?band"),
        _tok(
            r"vehicle|car|auto|policy|account|building|property|claim|loan|home|house|tenure|"
            r"page|asset|equipment|debt|receivable|invoice"
        ),
    ),
    "gender": (_tok(r"gender|sex|genders"), None),
    "state": (_tok(r"state|province|us_?state|state_?code"), _tok(r"status|machine|flow")),
    "city": (_tok(r"city|town|municipality|village"), None),
    "country": (_tok(r"country|nationality|native_?country|citizenship"), None),
    "occupation": (
        _tok(r"occupation|job|job_?title|profession|workclass|work_?class|employment"),
        None,
    ),
    "education": (_tok(r"education|education_?level|degree|schooling|edu"), None),
    "race": (_tok(r"race|ethnicity|ethnic|ethnic_?group"), None),
    "marital_status": (
        _tok(r"marital|marital_?status|relationship|married|spouse|civil_?status"),
        None,
    ),
    "religion": (_tok(r"religion|faith"), None),
}


def name_hit(
    norm: str, rule: tuple[re.Pattern[str], re.Pattern[str] | None]
) -> str | None:
    """The fragment of the normalised name ``norm`` that ``rule`` matches, unless excluded."""
    pat, excl = rule
    m = pat.search(norm)
    if m is None or (excl is not None and excl.search(norm)):
        return None
    return m.group(0).strip("_")
