"""Row schemas (pydantic) and the value parsers behind them: prices, booleans, emails, timestamps.

Owns what one input row may contain and why a value is rejected. Does not read files or touch the database.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)

from marketing_gen.importers.phones import region_of, to_e164

CURRENCY_SYMBOLS: dict[str, str] = {
    "US$": "USD",
    "C$": "CAD",
    "A$": "AUD",
    "NZ$": "NZD",
    "$": "USD",
    "£": "GBP",
    "€": "EUR",
    "¥": "JPY",
    "₹": "INR",
    "CHF": "CHF",
}
"""Symbols (longest first matters: ``US$`` before ``$``) → ISO 4217 code."""

_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
_NUMBER = re.compile(r"^\d[\d,.\s']*$")
_RANGE = re.compile(r"\d\s*(-|–|—|to)\s*\D{0,4}\d", re.IGNORECASE)
_LOCALE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z]{2,4})?$")
_PHONE = re.compile(r"^\+?[\d ().\-/]{6,31}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
"""Line breaks and other control characters: a header (``To:``) or an SMS gateway field would split on them."""
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})

MAX_QUANTITY = 1_000_000
"""Larger quantities are data errors (and would overflow the INTEGER column)."""
EVENTS: tuple[str, ...] = ("view", "cart", "purchase", "rating")
_EVENT_ALIASES = {"add_to_cart": "cart", "addtocart": "cart", "order": "purchase", "buy": "purchase"}


def blank_to_none(value: Any) -> Any:
    """Empty strings (after stripping) mean "not given"."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def parse_price(value: Any) -> tuple[Decimal | None, str | None]:
    """``"$1,299.00"`` → (Decimal('1299.00'), 'USD'); ``"£2.55"`` → (2.55, 'GBP'); blank → (None, None).

    Raises ValueError (with the reason) for ranges, text, negative or non-numeric prices.
    """
    value = blank_to_none(value)
    if value is None:
        return None, None
    if isinstance(value, bool):
        raise ValueError("a price must be a number, not a boolean")
    if isinstance(value, (int, float, Decimal)):
        return _check_amount(Decimal(str(value))), None
    text = str(value).strip()
    if _RANGE.search(text):
        raise ValueError(f"price range {text!r}: give one price per item")
    currency = None
    for symbol, code in CURRENCY_SYMBOLS.items():
        if text.startswith(symbol) or text.endswith(symbol):
            currency = code
            text = (text[len(symbol) :] if text.startswith(symbol) else text[: -len(symbol)]).strip()
            break
    else:
        head, _, tail = text.partition(" ")
        if _CURRENCY_CODE.match(head) and tail:
            currency, text = head, tail.strip()
        elif " " in text and _CURRENCY_CODE.match(text.rsplit(" ", 1)[1]):
            text, currency = (s.strip() for s in text.rsplit(" ", 1))
    if text.startswith("-"):
        raise ValueError(f"negative price {value!r}")
    if not _NUMBER.match(text):
        raise ValueError(f"not a price: {value!r} (expected a number such as 12.99 or $1,299.00)")
    return _check_amount(_to_decimal(text, str(value))), currency


def _to_decimal(text: str, original: str) -> Decimal:
    text = text.replace(" ", "").replace("'", "")
    if "," in text and "." in text:
        # The last separator is the decimal one: 1,299.00 (US) or 1.299,00 (EU).
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        # 1,299 is thousands; 2,55 is a decimal comma.
        head, _, tail = text.rpartition(",")
        text = text.replace(",", "") if len(tail) == 3 else head.replace(",", "") + "." + tail
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a price: {original!r}") from None


def _check_amount(amount: Decimal) -> Decimal:
    if not amount.is_finite():
        raise ValueError("price must be a finite number")
    if amount < 0:
        raise ValueError(f"negative price {amount}")
    if amount >= Decimal("1e10"):
        raise ValueError(f"price {amount} is too large")
    return amount.quantize(Decimal("0.01"))


def parse_bool(value: Any) -> bool | None:
    """true/false/yes/no/y/n/t/f/1/0 (any case) → bool; blank → None; anything else → ValueError."""
    value = blank_to_none(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"not a yes/no value: {value!r} (use true/false, yes/no or 1/0)")


def parse_email(value: Any) -> str | None:
    """A syntactically valid email address (domain lower-cased), or None when blank."""
    from email_validator import EmailNotValidError, validate_email

    value = blank_to_none(value)
    if value is None:
        return None
    try:
        return validate_email(str(value), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"invalid email {value!r}: {exc}") from None


_TS_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%d.%m.%Y %H:%M")


def parse_timestamp(value: Any, default_tz: dt.tzinfo = dt.timezone.utc) -> dt.datetime:
    """ISO 8601, ``2010-12-01 08:26:00``, ``12/1/2010 8:26`` or epoch seconds → aware UTC datetime.

    Naive times are read in ``default_tz``.
    """
    value = blank_to_none(value)
    if value is None:
        raise ValueError("missing timestamp")
    parsed: dt.datetime | None
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        parsed = dt.datetime.fromtimestamp(float(value), dt.timezone.utc)
    else:
        text = str(value).strip()
        parsed = None
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            for fmt in _TS_FORMATS:
                try:
                    parsed = dt.datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
        if parsed is None:
            if re.fullmatch(r"\d{9,10}(\.\d+)?", text):
                parsed = dt.datetime.fromtimestamp(float(text), dt.timezone.utc)
            else:
                raise ValueError(f"not a timestamp: {value!r} (use ISO 8601, e.g. 2026-03-01T12:00:00Z)")
    assert parsed is not None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_tz)
    return parsed.astimezone(dt.timezone.utc)


def _timestamp(value: Any, handler: ValidatorFunctionWrapHandler) -> dt.datetime:
    # pydantic's own (Rust) ISO 8601 parser first: 3× faster on the common case; ours for the other formats.
    try:
        parsed: dt.datetime = handler(value)
    except ValidationError:
        return parse_timestamp(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def _strip_str(value: Any) -> Any:
    if type(value) is str:  # the CSV case, kept short: it runs for every id of every row
        return value.strip() or None
    value = blank_to_none(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


ExternalId = Annotated[str, BeforeValidator(_strip_str), Field(min_length=1, max_length=128)]
OptStr = Annotated[str | None, BeforeValidator(_strip_str)]
Str16 = Annotated[Annotated[str, Field(max_length=16)] | None, BeforeValidator(_strip_str)]
Str32 = Annotated[Annotated[str, Field(max_length=32)] | None, BeforeValidator(_strip_str)]
Str64 = Annotated[Annotated[str, Field(max_length=64)] | None, BeforeValidator(_strip_str)]
Str128 = Annotated[Annotated[str, Field(max_length=128)] | None, BeforeValidator(_strip_str)]
Str512 = Annotated[Annotated[str, Field(max_length=512)] | None, BeforeValidator(_strip_str)]
Str1024 = Annotated[Annotated[str, Field(max_length=1024)] | None, BeforeValidator(_strip_str)]
OptBool = Annotated[bool | None, BeforeValidator(parse_bool)]


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class UserRow(_Row):
    """One row of a users file."""

    user_id: ExternalId
    email: Annotated[str | None, BeforeValidator(parse_email)] = None
    first_name: Str128 = None
    last_name: Str128 = None
    locale: Str16 = None
    country: Str64 = None
    phone: Str32 = None
    timezone: Str64 = None
    consents: dict[str, bool | None] = {}
    """``<flag>_consent`` columns, one per consent flag of the channel registry (``channels.consent_flags``): a
    channel with its own flag is imported without a change here."""
    apns_token: Str512 = None
    fcm_token: Str512 = None

    @model_validator(mode="before")
    @classmethod
    def _consent_columns(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        from marketing_gen.channels import consent_flags

        consents: dict[str, bool | None] = {}
        for flag in consent_flags():
            try:
                consents[flag] = parse_bool(data.get(f"{flag}_consent"))
            except ValueError as exc:
                raise ValueError(f"{flag}_consent: {exc}") from None
        return {**data, "consents": consents}

    @field_validator("apns_token")
    @classmethod
    def _apns(cls, v: str | None) -> str | None:
        return None if v is None else check_token("apns", v)

    @field_validator("fcm_token")
    @classmethod
    def _fcm(cls, v: str | None) -> str | None:
        return None if v is None else check_token("fcm", v)

    @field_validator("first_name", "last_name", "country", "phone", mode="before")
    @classmethod
    def _one_line(cls, v: Any) -> Any:
        if isinstance(v, str) and _CONTROL.search(v.strip()):
            kind = "a line break" if re.search(r"[\r\n\u2028\u2029]", v.strip()) else "a control character"
            raise ValueError(f"contains {kind}: {v!r} (must be one line of text)")
        return v

    @field_validator("locale")
    @classmethod
    def _locale(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not _LOCALE.match(v):
            raise ValueError(f"not a locale: {v!r} (use a language code such as en, de or pt-BR)")
        lang, _, region = v.replace("_", "-").partition("-")
        return f"{lang}-{region.upper()}" if region else lang

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None, info: ValidationInfo) -> str | None:
        """Stored in E.164, a national number read in the user's country (``phones``)."""
        if v is None:
            return v
        if not _PHONE.match(v):
            raise ValueError(f"not a phone number: {v!r}")
        return to_e164(v, region_of(info.data.get("country"), info.data.get("locale")))

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is None:
            return v
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Europe/Berlin)") from None
        return v


PLATFORMS: dict[str, str] = {"apns": "apns", "ios": "apns", "apple": "apns", "fcm": "fcm", "android": "fcm",
                              "firebase": "fcm", "gcm": "fcm"}  # fmt: skip
"""Push platform names a devices file may use → ``apns`` | ``fcm``."""
_TOKEN = {"apns": re.compile(r"^[0-9a-fA-F]{64,200}$"), "fcm": re.compile(r"^[A-Za-z0-9_:\-]{32,512}$")}
_TOPIC = re.compile(r"^[A-Za-z0-9._~%\-]{1,256}$")


def check_token(platform: str, token: str) -> str:
    """An APNs token (64+ hex digits, lower-cased) or an FCM registration token; ValueError otherwise."""
    if not _TOKEN[platform].match(token):
        shape = "64 or more hex digits" if platform == "apns" else "32–512 letters, digits, ':', '-' or '_'"
        raise ValueError(f"not an {platform.upper()} device token: {token[:40]!r} (expected {shape})")
    return token.lower() if platform == "apns" else token


class DeviceRow(_Row):
    """One row of a devices file: a user's push token (and topic) on one platform."""

    user_id: ExternalId
    platform: str
    token: Str512 = None
    topic: Annotated[Annotated[str, Field(max_length=256)] | None, BeforeValidator(_strip_str)] = None

    @field_validator("platform", mode="before")
    @classmethod
    def _platform(cls, v: Any) -> str:
        name = str(v or "").strip().lower()
        if name not in PLATFORMS:
            raise ValueError(f"unknown push platform {v!r} (use apns or fcm; ios and android are accepted)")
        return PLATFORMS[name]

    @field_validator("topic")
    @classmethod
    def _topic(cls, v: str | None) -> str | None:
        if v is not None and not _TOPIC.match(v):
            raise ValueError(f"not a push topic: {v!r} (letters, digits and . _ ~ % - only)")
        return v

    @model_validator(mode="after")
    def _target(self) -> DeviceRow:
        if self.token is not None:
            object.__setattr__(self, "token", check_token(self.platform, self.token))
        elif self.platform == "apns" or self.topic is None:
            raise ValueError(
                "a device needs a token (APNs always; FCM sends to the token, or to the topic when there is none)"
            )
        return self


def _check_url(v: str | None) -> str | None:
    if v is not None and not re.match(r"^https?://[^\s/]+\S*$", v):
        raise ValueError(f"not an http(s) URL: {v!r}")
    return v


class ItemRow(_Row):
    """One row of an items file; ``price`` keeps the currency its symbol implied."""

    item_id: ExternalId
    title: Annotated[str, BeforeValidator(_strip_str), Field(min_length=1, max_length=512)]
    description: OptStr = None
    category: Str512 = None
    price: Decimal | None = None
    price_currency: str | None = None
    currency: OptStr = None
    url: Str1024 = None
    image_url: Str1024 = None
    in_stock: OptBool = None

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ItemRow:
        """Validate a raw record; the price symbol becomes the currency when no currency column is given."""
        try:
            price, symbol_currency = parse_price(record.get("price"))
        except ValueError as exc:
            raise ValidationError.from_exception_data(
                cls.__name__,
                [{"type": "value_error", "loc": ("price",), "input": record.get("price"), "ctx": {"error": exc}}],
            ) from None
        return cls.model_validate({**record, "price": price, "price_currency": symbol_currency})

    @field_validator("category")
    @classmethod
    def _category(cls, v: str | None) -> str | None:
        # "A | B | C" (marketplace exports) and "A > B > C" mean the same path.
        return " > ".join(p.strip() for p in v.split("|") if p.strip()) if v and "|" in v else v

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str | None) -> str | None:
        if v is None:
            return v
        code = CURRENCY_SYMBOLS.get(v, v.upper())
        if not _CURRENCY_CODE.match(code):
            raise ValueError(f"not an ISO 4217 currency code: {v!r} (e.g. USD, GBP, EUR)")
        return code

    @field_validator("url", "image_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return _check_url(v)


def _quantity(value: Any) -> Any:
    if type(value) is str and value.isascii() and value.isdigit() and value[0] != "0" and len(value) < 7:
        return int(value)  # the common "1".."999999"
    value = blank_to_none(value)
    if value is None:
        return 1
    if isinstance(value, str):
        try:
            number = float(value.replace(",", ""))
        except ValueError:
            raise ValueError(f"not a whole number: {value!r}") from None
    else:
        number = value
    if not isinstance(number, (int, float)) or isinstance(number, bool) or not math.isfinite(number):
        raise ValueError(f"not a whole number: {value!r}")
    if number < 0:
        raise ValueError(f"negative quantity {value} (returns and cancellations are not imported)")
    if number > MAX_QUANTITY:
        raise ValueError(f"quantity {value} is larger than {MAX_QUANTITY:,}")
    if number != int(number):
        raise ValueError(f"not a whole number: {value!r}")
    if number == 0:
        raise ValueError("quantity must be at least 1")
    return int(number)


class InteractionRow(_Row):
    """One row of an interactions file."""

    user_id: ExternalId
    item_id: ExternalId
    event: Literal["view", "cart", "purchase", "rating"]
    timestamp: Annotated[dt.datetime, WrapValidator(_timestamp)]
    quantity: Annotated[int, BeforeValidator(_quantity)] = 1
    value: Annotated[float | None, BeforeValidator(blank_to_none)] = None

    @field_validator("event", mode="before")
    @classmethod
    def _event(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = v.strip().lower()
            v = _EVENT_ALIASES.get(v, v)
            if v not in EVENTS:
                raise ValueError(f"unknown event {v!r} (use one of {', '.join(EVENTS)})")
        return v


class RecommendationRow(_Row):
    """One row of an (upstream) recommendations file."""

    user_id: ExternalId
    item_id: ExternalId
    rank: Annotated[int, Field(ge=1, le=10_000)]
    score: Annotated[float, BeforeValidator(lambda v: 0.0 if blank_to_none(v) is None else v)] = 0.0


def describe_validation_error(exc: ValidationError) -> list[tuple[str, str]]:
    """(field, reason) pairs from a pydantic error, with pydantic's "Value error, " prefix removed."""
    out = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or "row"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "required value is missing"
        out.append((field, msg))
    return out
