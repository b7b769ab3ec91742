"""Open accounts-receivable CSV (Kolleno's "open AR report", ``seeds/003_…``): reader and writer.

The report lists every open invoice; an invoice missing from the next report counts as paid, so a row
read wrongly (a shifted column, an amount misread by a factor of a thousand) is worse than a file
refused. Partners export these reports from whatever ERP they have, and Kolleno accepts "not the exact
format of the template", so the reader is flexible about what a file looks like (delimiter, encoding,
decimal separator, date order, header names) and strict about what a value means: it detects the
conventions from the data, then refuses every cell that does not follow them, with the row and column
a spreadsheet user needs to fix it. Unknown columns are kept, never dropped.

Reports of 100,000 rows are normal. Detection reads only the first 64 KiB; parsing is pandas' C
reader with every cell as text (amounts must become exact ``Decimal``s, never floats), and cleaning is
done column-wise with pandas string methods, leaving Python only the ``Decimal`` and date constructors.

The writer emits one layout (UTF-8, comma, ``.`` decimals, ISO dates, the :data:`HEADERS` then the
invoices' custom fields), which the reader reads back to equal invoices. It is a machine format that
people also open in spreadsheets: a text cell starting with a formula prefix (``=``, ``+``, ``-``,
``@``, tab, CR) gets a leading ``'`` (:func:`invoice_hub.spreadsheet.neutralise_formula`); numbers
(``-12.50``) and dates never change, so amounts round-trip exactly.

Rules (each finding's ``rule``):

==============  ======================================================================================
CSV-ENCODING    the file is not in the configured or detected encoding (a warning when the reader
                fell back to a single-byte encoding itself)
CSV-HEADER      a required column is missing, or two headers mean the same column (a warning for an
                unknown header that repeats: its values are kept under a name with the column number)
CSV-SYNTAX      a row has more fields than the header, or a quoted value is never closed
CSV-REQUIRED    a row without an invoice number
CSV-AMOUNT      not an amount in the file's decimal convention
CSV-DATE        not a date in the file's date format (a warning when day and month order is a guess)
CSV-CURRENCY    a currency that is not three letters
CSV-DUPLICATE   the same invoice number on two rows
==============  ======================================================================================
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gc
import io
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import numpy as np
import pandas as pd

from invoice_hub.csv_options import CsvOptions
from invoice_hub.formats.byte_order import marked_encoding
from invoice_hub.formats.xml import FormatError
from invoice_hub.model import Contact, Identifier, Invoice, Party, Totals, as_text
from invoice_hub.report_columns import COLUMNS, HEADERS, canonical_column, normalise_header
from invoice_hub.spreadsheet import neutralise_formula
from invoice_hub.validation.findings import Finding, Severity, csv_location

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

_AMOUNTS = ("amount", "open_amount")
_DATES = ("issue_date", "due_date")
_DETECT_BYTES = 64 * 1024
_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_SAMPLE_RECORDS = 50  # records the delimiter detection compares
_DECIMAL_SAMPLE = 10_000  # amounts the decimal detection looks at
_MAX_LISTED = 50  # findings listed per rule and column; the rest are counted in one more finding
_WRITE_BATCH = 2_000  # rows encoded and written at a time

_SYMBOLS = "$€£¥₹₽₩₪₺₴₦฿₫₱¢"
_CURRENCY = rf"(?:[A-Za-z]{{3}}|[A-Z]{{0,2}}[{_SYMBOLS}])"
#: An amount with its decorations: sign (leading or trailing), accounting parentheses, a currency
#: symbol or ISO code before or after. The number itself is checked against the decimal convention.
_AMOUNT = (
    rf"^(?P<lead>[-+]?)\s*(?:{_CURRENCY}\s*)?(?P<open>\(?)\s*(?P<inner>[-+]?)\s*(?:{_CURRENCY}\s*)?"
    rf"(?P<number>\d[\d.,'\s]*|[.,]\d+)(?:{_CURRENCY})?\s*(?P<close>\)?)\s*(?:{_CURRENCY}\s*)?(?P<trail>-?)$"
)
_PLAIN = {".": r"-?\d+(?:\.\d+)?", ",": r"-?\d+(?:,\d+)?"}  # the common case, converted without cleaning
_THOUSANDS = {".": r"[,\s']", ",": r"[.\s']"}
_SEPARATOR = {".": ",", ",": "."}  # the thousands separator that goes with a decimal separator
_COMMON = {".": r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?", ",": r"-?\d{1,3}(?:\.\d{3})+(?:,\d+)?"}
_GROUPED = {
    d: rf"\d{{1,3}}(?:_\d{{3}})+(?:{re.escape(d)}\d*)?|\d+(?:{re.escape(d)}\d*)?|{re.escape(d)}\d+"
    for d in ".,"
}
#: Evidence for a decimal separator: ``12,50``, ``0,1234``, ``1.234,56``, ``1.234.567`` (and mirrored).
_DECIMAL_EVIDENCE = {
    ",": r"\d,(?:\d{1,2}|\d{4,})\D*$|\.\d{3},\d|\d\.\d{3}\.",
    ".": r"\d\.(?:\d{1,2}|\d{4,})\D*$|,\d{3}\.\d|\d,\d{3},",
}
_ISO_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_NUMERIC_DATE = re.compile(r"(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?: \d{1,2}:\d{2}(?::\d{2})?)?")
_SKIPPED = re.compile(r"Skipping line (\d+): expected (\d+) fields, saw (\d+)")
_BAD = object()  # a date cache entry for text that is not a date

DateStyle = Literal["iso", "dmy", "mdy", "format"]


@dataclass
class OpenArReport:
    """A report as a table of typed cells, with what was wrong and the conventions used to read it.

    The frame (not invoices) is what reconciliation compares, so it is the primary result; ``rows``
    lets every later finding point at the spreadsheet row.
    """

    frame: pd.DataFrame
    rows: list[int]
    findings: list[Finding]
    encoding: str
    delimiter: str
    decimal: str
    source: str = ""


# -- detection ------------------------------------------------------------------------------------


def _guess_single_byte(sample: bytes) -> str:
    """cp1252 when it reads the sample as cleanly as charset_normalizer's best guess, else that guess.

    On the few non-ASCII letters of a report the guess is close to arbitrary (cp1250 or cp775 for
    German names, even gb18030), and those read French è as č or worse; Windows-1252 is what Western
    ERPs export. A file in another code page still gets its own: cp1252 makes a mess of it.
    """
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    western = from_bytes(sample, cp_isolation=["cp1252"]).best()
    if western is not None and (best is None or western.chaos <= best.chaos):
        return "cp1252"
    return best.encoding if best is not None else "cp1252"


def _detect_encoding(prefix: bytes, complete: bool) -> str:
    marked = marked_encoding(prefix)
    if marked is not None:
        return marked
    try:
        codecs.getincrementaldecoder("utf-8")().decode(prefix, final=complete)
    except UnicodeDecodeError:
        return _guess_single_byte(prefix)
    return "utf-8"


def _records(text: str, delimiter: str, limit: int) -> list[list[str]]:
    records: list[list[str]] = []
    try:
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            records.append(record)
            if len(records) >= limit:
                break
    except csv.Error:
        pass  # the sample ends inside a quoted value; what was read is enough
    return records


def _blank(record: list[str]) -> bool:
    return not any(cell.strip() for cell in record)


def _detect_delimiter(text: str) -> str:
    """The candidate that splits the header into most columns and the rows consistently with it."""
    best, best_score = ",", (-1.0, 0)
    for delimiter in _DELIMITERS:
        records = [r for r in _records(text, delimiter, _SAMPLE_RECORDS) if not _blank(r)]
        if not records or len(records[0]) < 2:
            continue
        width, data = len(records[0]), records[1:]
        fitting = sum(len(r) == width or (len(r) > width and _blank(r[width:])) for r in data)
        score = (fitting / len(data) if data else 1.0, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


# -- cells ----------------------------------------------------------------------------------------


def _text(column: pd.Series) -> np.ndarray:
    """Stripped text, None for empty cells (object array)."""
    values = column.str.strip().to_numpy(dtype=object)
    values[values == ""] = None
    return values


def _detect_decimal(columns: list[pd.Series], delimiter: str) -> str:
    """The separator most amounts show; with no evidence, ``,`` in ``;`` files (the European export)."""
    votes = dict.fromkeys(_DECIMAL_EVIDENCE, 0)
    for column in columns:
        sample = column[column != ""].head(_DECIMAL_SAMPLE)
        for decimal, pattern in _DECIMAL_EVIDENCE.items():
            votes[decimal] += int(sample.str.contains(pattern, regex=True).sum())
    if votes[","] != votes["."]:
        return "," if votes[","] > votes["."] else "."
    return "," if delimiter == ";" else "."


def _amounts(column: pd.Series, decimal: str) -> tuple[np.ndarray, np.ndarray]:
    """Decimal objects (None for empty cells) and the mask of cells that are not amounts.

    The usual shapes (``1234.56``, ``1,234.56``) take a short path; only decorated amounts (currency,
    parentheses, trailing sign, space grouping) go through the full pattern.
    """
    text = column.str.strip()
    values = np.full(len(text), None, dtype=object)
    bad = np.zeros(len(text), dtype=bool)
    left = np.flatnonzero((text != "").to_numpy())
    for pattern, grouping in ((_PLAIN[decimal], None), (_COMMON[decimal], _SEPARATOR[decimal])):
        if not len(left):
            break
        cells = text if len(left) == len(text) else text.iloc[left]
        hit = cells.str.fullmatch(pattern).to_numpy(dtype=bool)
        numbers = cells[hit]
        if grouping:
            numbers = numbers.str.replace(grouping, "", regex=False)
        if decimal == ",":
            numbers = numbers.str.replace(",", ".", regex=False)
        values[left[hit]] = [Decimal(n) for n in numbers.tolist()]
        left = left[~hit]
    if not len(left):
        return values, bad
    parts = text.iloc[left].str.extract(_AMOUNT)
    ok = parts["number"].notna()
    negative = (
        (parts["lead"] == "-").astype(int)
        + (parts["inner"] == "-")
        + (parts["open"] == "(")
        + (parts["trail"] == "-")
    )
    ok &= ((parts["open"] == "(") == (parts["close"] == ")")) & (negative <= 1)
    grouped = parts["number"].where(ok, "").str.strip().str.replace(_THOUSANDS[decimal], "_", regex=True)
    ok &= grouped.str.fullmatch(_GROUPED[decimal]).fillna(False).astype(bool)
    cleaned = grouped[ok].str.replace("_", "", regex=False)
    if decimal == ",":
        cleaned = cleaned.str.replace(",", ".", regex=False)
    sign = np.where(negative[ok] == 1, "-", "")
    ok_mask = ok.to_numpy(dtype=bool)
    values[left[ok_mask]] = [Decimal(s + n) for s, n in zip(sign, cleaned.tolist(), strict=True)]
    bad[left[~ok_mask]] = True
    return values, bad


def _date_style(values: Iterable[str], decimal: str) -> tuple[DateStyle, bool]:
    """ISO, day-month-year or month-day-year, and whether the day/month order was a guess.

    A first field above 12 can only be a day, a second one only a day in M/D/Y; dots mean D.M.Y.
    """
    iso = numeric = day_first = month_first = 0
    for value in values:
        if _ISO_DATE.fullmatch(value):
            iso += 1
        elif match := _NUMERIC_DATE.fullmatch(value):
            numeric += 1
            if match[2] == "." or int(match[1]) > 12:
                day_first += 1
            elif int(match[3]) > 12:
                month_first += 1
    if iso >= numeric:
        return "iso", False
    if day_first or month_first:
        return ("dmy" if day_first >= month_first else "mdy"), False
    return ("dmy" if decimal == "," else "mdy"), True


def _year(text: str) -> int:
    year = int(text)
    return year if len(text) == 4 else year + (2000 if year < 69 else 1900)  # strptime's %y pivot


def _date_parser(style: DateStyle, date_format: str | None) -> Callable[[str], object]:
    def parse(value: str) -> object:
        try:
            if style == "format":
                return dt.datetime.strptime(value, date_format or "").date()
            if style == "iso":
                if match := _ISO_DATE.fullmatch(value):
                    return dt.date(int(match[1]), int(match[2]), int(match[3]))
                return _BAD
            if match := _NUMERIC_DATE.fullmatch(value):
                first, second = int(match[1]), int(match[3])
                day, month = (first, second) if style == "dmy" else (second, first)
                return dt.date(_year(match[4]), month, day)
        except ValueError:
            pass
        return _BAD

    return parse


# -- reading --------------------------------------------------------------------------------------


class _Findings:
    """Collects findings, listing at most ``_MAX_LISTED`` per rule and column."""

    def __init__(self) -> None:
        self.items: list[Finding] = []

    def add(self, rule: str, message: str, location: str = "", severity: Severity = "fatal") -> None:
        self.items.append(Finding(rule=rule, severity=severity, message=message, location=location))

    def cells(
        self,
        rule: str,
        mask: np.ndarray,
        rows: np.ndarray,
        header: str,
        message: Callable[[int], str],
    ) -> None:
        """One finding per masked cell; ``message`` gets the cell's position in the frame."""
        positions = np.flatnonzero(mask)
        for position in positions[:_MAX_LISTED]:
            self.add(rule, message(int(position)), csv_location(int(rows[position]), header))
        if len(positions) > _MAX_LISTED:
            more = len(positions) - _MAX_LISTED
            self.add(
                rule,
                f"{more} more rows have the same problem in column {header} (not listed one by one)",
                csv_location(int(rows[positions[_MAX_LISTED]]), header),
            )

    @property
    def fatal(self) -> bool:
        return any(f.severity == "fatal" for f in self.items)


@dataclass
class _Layout:
    """Where the header is and what each of the file's columns is called in the frame."""

    header_row: int  # 1-based; blank lines before the header count
    headers: list[str]  # as written (stripped); headerless columns seen in the sample get "Column N"
    header_count: int  # columns with a header cell
    names: list[str] = field(default_factory=list)  # frame column per file column
    canonical: dict[str, int] = field(default_factory=dict)  # canonical column -> file column


def _layout(text: str, delimiter: str) -> _Layout | None:
    records = _records(text, delimiter, _SAMPLE_RECORDS)
    leading = next((i for i, r in enumerate(records) if not _blank(r)), None)
    if leading is None:
        return None
    headers = [cell.strip().lstrip("\ufeff") for cell in records[leading]]  # a BOM read as text
    width = max(len(r) for r in records[leading:])  # rows wider than the header, e.g. trailing delimiters
    headers = [h or f"Column {i + 1}" for i, h in enumerate(headers)]
    headers += [f"Column {i + 1}" for i in range(len(headers), width)]
    return _Layout(leading + 1, headers, len(records[leading]))


def _map_columns(layout: _Layout, options: CsvOptions, source: str, found: _Findings, delimiter: str) -> None:
    """Assign canonical columns to the file's columns; CSV-HEADER findings for what cannot be."""
    headers, row = layout.headers[: layout.header_count], layout.header_row
    normalised = [normalise_header(h) for h in headers]
    listed = ", ".join(repr(h) for h in headers)
    column: str | None  # below, canonical_column() is None for a header that names no column
    for column, wanted in options.columns.items():
        exact = [i for i, h in enumerate(headers) if h == wanted]
        matches = exact or [i for i, n in enumerate(normalised) if n == normalise_header(wanted)]
        if not matches:
            found.add(
                "CSV-HEADER",
                f"{source}: columns: maps {column} to {wanted!r}, which is not in the header ({listed}); "
                "correct the header name in columns: or the file",
                csv_location(row),
            )
        elif len(matches) > 1:
            found.add(
                "CSV-HEADER",
                f"{source}: columns: maps {column} to {wanted!r}, which is the header of columns "
                f"{' and '.join(str(i + 1) for i in matches)}; rename one of them in the file",
                csv_location(row, wanted),
            )
        else:
            layout.canonical[column] = matches[0]
    explicit = set(layout.canonical.values())
    for index, key in enumerate(normalised):
        column = canonical_column(key)  # key is normalised already; normalising is idempotent
        if index in explicit or column is None or column in options.columns:
            continue
        if column in layout.canonical:
            other = layout.canonical[column]
            found.add(
                "CSV-HEADER",
                f"{source}: {headers[other]!r} (column {other + 1}) and {headers[index]!r} (column "
                f"{index + 1}) both mean {column}; rename or remove one, or choose one with "
                f"columns: {{{column}: {headers[other]!r}}}",
                csv_location(row, headers[index]),
            )
            continue
        layout.canonical[column] = index
    hint = ""
    if len(headers) == 1:
        others = [_DELIMITER_NAMES[d] for d in _DELIMITERS if d != delimiter and d in headers[0]]
        used_delimiter = _DELIMITER_NAMES.get(delimiter, repr(delimiter))
        hint = f" (only one column was found with the {used_delimiter} delimiter"
        hint += f"; the header contains a {others[0]}: set delimiter:)" if others else ")"
    missing = []
    if "invoice_number" not in layout.canonical and "invoice_number" not in options.columns:
        missing.append(("invoice_number", "the invoice number column", COLUMNS["invoice_number"]))
    if not ({"amount", "open_amount"} & (set(layout.canonical) | set(options.columns))):
        aliases = COLUMNS["open_amount"] + COLUMNS["amount"]
        missing.append(("open_amount", "an open amount (or amount) column", aliases))
    for column, what, aliases in missing:
        found.add(
            "CSV-HEADER",
            f"{source}: {what} is missing: no header is one of {', '.join(repr(a) for a in aliases)} "
            f"(case, spaces and punctuation do not matter); the headers are {listed}{hint}. Rename the "
            f"header to {HEADERS[column]!r} or set columns: {{{column}: <the header in your file>}}",
            csv_location(row),
        )
    used: set[str] = set()
    for index, header in enumerate(layout.headers):
        name = next((c for c, i in layout.canonical.items() if i == index), header)
        if name in used or (name in COLUMNS and index not in layout.canonical.values()):
            name = f"{header} (column {index + 1})"
            if index < layout.header_count:
                found.add(
                    "CSV-HEADER",
                    f"the header {header!r} is used twice or is a canonical column name; "
                    f"its values are kept as {name!r}",
                    csv_location(row, header),
                    "warning",
                )
        used.add(name)
        layout.names.append(name)


def _locate_decode_error(path: Path, encoding: str) -> tuple[int, int, UnicodeDecodeError] | None:
    """(byte offset, line, error) of the first bytes that are not ``encoding``, streaming the file."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, newlines = 0, 0
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            state = decoder.getstate()
            try:
                newlines += decoder.decode(chunk).count("\n")
            except UnicodeDecodeError as exc:
                pending = len(state[0])
                before = codecs.getincrementaldecoder(encoding)(errors="replace")
                before.setstate(state)
                line = newlines + before.decode(chunk[: max(exc.start - pending, 0)]).count("\n") + 1
                return offset - pending + exc.start, line, exc
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            return offset - len(decoder.getstate()[0]) + exc.start, newlines + 1, exc
    return None


def _parse(path: Path, layout: _Layout, delimiter: str, encoding: str) -> tuple[pd.DataFrame, list[int]]:
    """The data rows as text, and the rows pandas skipped for having too many fields."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(
                path,
                sep=delimiter,
                encoding=encoding,
                encoding_errors="strict",
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                engine="c",
                header=None,
                names=list(range(len(layout.headers))),
                index_col=False,
                skiprows=layout.header_row,
                on_bad_lines="warn",
            )
        except pd.errors.EmptyDataError:
            frame = pd.DataFrame({i: pd.Series([], dtype=str) for i in range(len(layout.headers))})
    skipped = [
        int(match[1])
        for warning in caught
        if issubclass(warning.category, pd.errors.ParserWarning)
        for match in _SKIPPED.finditer(str(warning.message))
    ]
    return frame, skipped


def _decode_error_finding(path: Path, encoding: str, source: str) -> tuple[int, int, Finding]:
    """Where the file stops being ``encoding`` (its byte offset) and the finding that says so."""
    offset, line, exc = _locate_decode_error(path, encoding) or (0, 1, None)
    reason = f"{exc.reason} (bytes {exc.object[exc.start : exc.end]!r})" if exc else "undecodable bytes"
    message = (
        f"{source}: byte {offset} (line {line}) is not {encoding}: {reason}; save the file as UTF-8, or set "
        "encoding: to the file's encoding (e.g. cp1252 for Windows exports)"
    )
    finding = Finding(rule="CSV-ENCODING", severity="fatal", message=message, location=csv_location(line))
    return offset, line, finding


def _syntax_finding(exc: pd.errors.ParserError, source: str) -> Finding:
    unclosed = re.search(r"EOF inside string starting at row (\d+)", str(exc))
    if unclosed:  # pandas counts records from 0, blank lines included
        row = int(unclosed[1]) + 1
        message = f"{source}: the quoted value that starts in row {row} is never closed; add the closing '\"'"
        return Finding(rule="CSV-SYNTAX", severity="fatal", message=message, location=csv_location(row))
    return Finding(rule="CSV-SYNTAX", severity="fatal", message=f"{source}: not a readable CSV file: {exc}")


def _report(found: _Findings, encoding: str, delimiter: str, decimal: str, source: str) -> OpenArReport:
    return OpenArReport(pd.DataFrame(), [], found.items, encoding, delimiter, decimal, source)


def read_open_ar_report(
    path: Path,
    source: str | None = None,
    options: CsvOptions = CsvOptions(),  # noqa: B008 - frozen, so sharing the default is safe
) -> OpenArReport:
    """The report at ``path`` as typed columns, with every problem as a finding (it never raises for one).

    Reading goes on after a bad cell so that one run lists everything a partner has to correct; only
    a file that cannot be opened raises :class:`FormatError`.
    """
    source = source or str(path)
    found = _Findings()
    try:
        size = path.stat().st_size
        with path.open("rb") as file:
            prefix = file.read(_DETECT_BYTES)
    except OSError as exc:
        raise FormatError(f"{source}: cannot read the file: {exc}") from None
    complete = size <= _DETECT_BYTES
    encoding = options.encoding or _detect_encoding(prefix, complete)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(prefix, final=complete)
    if not complete:
        text = text[: text.rfind("\n") + 1] or text  # a partial last line would mislead detection
    delimiter = options.delimiter or _detect_delimiter(text)
    layout = _layout(text, delimiter)
    if layout is None:
        found.add(
            "CSV-HEADER",
            f"{source}: the file is empty; an open-AR report starts with a header row such as "
            f"{','.join(HEADERS.values())}",
            csv_location(1),
        )
        return _report(found, encoding, delimiter, options.decimal or ".", source)
    _map_columns(layout, options, source, found, delimiter)
    if found.fatal:
        return _report(found, encoding, delimiter, options.decimal or ".", source)

    while True:
        try:
            raw, skipped = _parse(path, layout, delimiter, encoding)
            break
        except UnicodeDecodeError:
            offset, line, finding = _decode_error_finding(path, encoding, source)
            if options.encoding is None and encoding == "utf-8" and prefix.isascii():
                # The ASCII start said nothing about the encoding: guess again where the text is.
                with path.open("rb") as file:
                    file.seek(max(offset - 1024, 0))
                    encoding = _guess_single_byte(file.read(_DETECT_BYTES))
                found.add(
                    "CSV-ENCODING",
                    f"{source}: the file starts as ASCII, but byte {offset} (line {line}) is not UTF-8; the "
                    f"file was read as {encoding}. Set encoding: if names or symbols look wrong",
                    finding.location,
                    "warning",
                )
                continue
            found.items.append(finding)
            return _report(found, encoding, delimiter, options.decimal or ".", source)
        except pd.errors.ParserError as exc:
            found.items.append(_syntax_finding(exc, source))
            return _report(found, encoding, delimiter, options.decimal or ".", source)
    return _typed(raw, skipped, found, layout, options, source, encoding, delimiter)


def _row_numbers(count: int, skipped: list[int], first: int) -> np.ndarray:
    """The spreadsheet row of each parsed row: consecutive from ``first``, minus the skipped ones."""
    keep = np.ones(count + len(skipped), dtype=bool)
    keep[[line - first for line in skipped if 0 <= line - first < len(keep)]] = False
    return np.flatnonzero(keep)[:count] + first


def _typed(
    raw: pd.DataFrame,
    skipped: list[int],
    found: _Findings,
    layout: _Layout,
    options: CsvOptions,
    source: str,
    encoding: str,
    delimiter: str,
) -> OpenArReport:
    """Text cells -> typed columns, with a finding for every cell that is not what its column needs."""
    rows = _row_numbers(len(raw), skipped, layout.header_row + 1)
    # the frame's columns are the file's column positions (``names=range(...)``); the stubs say str
    empty = {i: (raw[i] == "").to_numpy() for i in cast("Iterable[int]", raw.columns)}
    blank = np.logical_and.reduce(list(empty.values())) if empty else np.zeros(len(raw), dtype=bool)
    # Values beyond the header (within the columns the sample showed; pandas skipped wider rows):
    # an unquoted delimiter has shifted the row, so its cells cannot be trusted. Empty ones are
    # trailing delimiters, harmless.
    wide = np.zeros(len(raw), dtype=bool)
    for index in range(layout.header_count, len(layout.headers)):
        wide |= ~empty[index]
    shifted = sorted([*skipped, *rows[wide].tolist()])
    for line in shifted[:_MAX_LISTED]:
        found.add(
            "CSV-SYNTAX",
            f"the row has more fields than the header's {layout.header_count}, so its values may be in the "
            f"wrong columns; a value that contains the delimiter "
            f"({_DELIMITER_NAMES.get(delimiter, repr(delimiter))}) must be in double quotes",
            csv_location(line),
        )
    if len(shifted) > _MAX_LISTED:
        found.add("CSV-SYNTAX", f"{len(shifted) - _MAX_LISTED} more rows have more fields than the header")
    if blank.any():
        raw, rows = raw[~blank].reset_index(drop=True), rows[~blank]
        empty = {i: e[~blank] for i, e in empty.items()}
    canonical = layout.canonical
    amounts = [raw[canonical[c]] for c in _AMOUNTS if c in canonical]
    decimal = options.decimal or _detect_decimal(amounts, delimiter)
    columns: dict[str, np.ndarray] = {}

    for column, index in sorted(canonical.items(), key=lambda item: list(COLUMNS).index(item[0])):
        header, cells = layout.headers[index], raw[index]
        if column in _AMOUNTS:
            columns[column], bad = _amounts(cells, decimal)
            example = "1234.56 or 1,234.56" if decimal == "." else "1234,56 or 1.234,56"

            # a def, not a lambda: mypy cannot infer the type of a lambda with default arguments
            def amount_message(p: int, cells: pd.Series = cells, example: str = example) -> str:
                return (
                    f"{cells.iat[p]!r} is not an amount; this file uses {decimal!r} as the decimal "
                    f"separator, so write e.g. {example} (set decimal: if it was detected wrongly)"
                )

            found.cells("CSV-AMOUNT", bad, rows, header, amount_message)
        elif column == "currency":
            text = cells.str.strip()
            bad = ~(text.str.fullmatch("[A-Za-z]{3}") | (text == "")).to_numpy(dtype=bool)
            columns[column] = _text(text.str.upper())

            def currency_message(p: int, cells: pd.Series = cells) -> str:
                return f"{cells.iat[p]!r} is not a currency code; write the ISO 4217 code, e.g. EUR"

            found.cells("CSV-CURRENCY", bad, rows, header, currency_message)
        elif column not in _DATES:
            columns[column] = _text(cells)
    _dates(raw, rows, found, layout, options, decimal, columns)
    _invoice_numbers(layout, rows, found, columns)
    if "open_amount" not in columns and "amount" in columns:
        columns["open_amount"] = columns["amount"].copy()  # a report of open invoices: all of it is open

    for index, name in enumerate(layout.names):
        if index in canonical.values():
            continue
        if index >= layout.header_count:
            continue  # beyond the header: trailing delimiters, or CSV-SYNTAX above
        values = raw[index].to_numpy(dtype=object)
        values[empty[index]] = None
        columns[name] = values
    order = [*(c for c in COLUMNS if c in columns), *(c for c in columns if c not in COLUMNS)]
    frame = pd.DataFrame({name: pd.Series(columns[name], dtype=object) for name in order})
    return OpenArReport(frame, rows.tolist(), found.items, encoding, delimiter, decimal, source)


def _dates(
    raw: pd.DataFrame,
    rows: np.ndarray,
    found: _Findings,
    layout: _Layout,
    options: CsvOptions,
    decimal: str,
    columns: dict[str, np.ndarray],
) -> None:
    """Both date columns, in one format for the file: the evidence for D/M against M/D is in either."""
    present = [(c, layout.canonical[c]) for c in _DATES if c in layout.canonical]
    if not present:
        return
    texts = {c: raw[i].str.strip() for c, i in present}
    uniques = [v for v in dict.fromkeys(v for t in texts.values() for v in pd.unique(t)) if v]
    if options.date_format:
        style: DateStyle = "format"
        shown = options.date_format
    else:
        style, guessed = _date_style(uniques[:5000], decimal)
        separator = next((m[2] for v in uniques[:100] if (m := _NUMERIC_DATE.fullmatch(v))), "/")
        shown = {"iso": "YYYY-MM-DD", "dmy": "DD{0}MM{0}YYYY", "mdy": "MM{0}DD{0}YYYY"}[style].format(
            separator
        )
        if guessed:
            first_header = layout.headers[present[0][1]]
            other = ("%m{0}%d{0}%Y" if style == "dmy" else "%d{0}%m{0}%Y").format(separator)
            found.add(
                "CSV-DATE",
                f"no date has a day above 12, so day and month cannot be told apart; the dates were read as "
                f"{shown}. If they are the other way round, set date_format: {other}",
                csv_location(layout.header_row, first_header),
                "warning",
            )
    parse = _date_parser(style, options.date_format)
    cache: dict[str, object] = {v: parse(v) for v in uniques}
    cache[""] = None
    invalid = {v for v, d in cache.items() if d is _BAD}
    for column, index in present:
        text = texts[column]
        values = np.array([cache[v] for v in text.tolist()], dtype=object)
        bad = text.isin(invalid).to_numpy(dtype=bool) if invalid else np.zeros(len(text), dtype=bool)
        values[bad] = None
        columns[column] = values

        # a def, not a lambda: mypy cannot infer the type of a lambda with default arguments
        def date_message(p: int, text: pd.Series = text) -> str:
            return f"{text.iat[p]!r} is not a date in this file's format {shown}; write it like the others"

        found.cells("CSV-DATE", bad, rows, layout.headers[index], date_message)


def _invoice_numbers(
    layout: _Layout, rows: np.ndarray, found: _Findings, columns: dict[str, np.ndarray]
) -> None:
    """Every row needs an invoice number, and a different one: reconciliation matches rows by it."""
    numbers = columns["invoice_number"]
    header = layout.headers[layout.canonical["invoice_number"]]
    missing = pd.isna(numbers)
    found.cells(
        "CSV-REQUIRED",
        missing,
        rows,
        header,
        lambda p: (
            "the invoice number is empty; every row of an open-AR report needs one (remove the row if it "
            "is not an invoice)"
        ),
    )
    series = pd.Series(numbers, dtype=object)
    repeated = (series.duplicated(keep="first") & ~missing).to_numpy()
    if not repeated.any():
        return
    values = set(series[repeated].iloc[:_MAX_LISTED])
    first: dict[str, int] = {}
    for position in np.flatnonzero(series.isin(values).to_numpy()):
        first.setdefault(numbers[position], int(rows[position]))
    found.cells(
        "CSV-DUPLICATE",
        repeated,
        rows,
        header,
        lambda p: (
            f"invoice number {numbers[p]!r} is on rows {first.get(numbers[p], '?')} and {rows[p]}; an "
            "open-AR report has one row per invoice (its open amount): remove or merge the repeated rows"
        ),
    )


# -- invoices -------------------------------------------------------------------------------------


def report_to_invoices(report: OpenArReport) -> list[Invoice]:
    """One invoice per row; :class:`FormatError` with the fatal findings when the report has any."""
    fatal = [f for f in report.findings if f.severity == "fatal"]
    if fatal:
        listed = "; ".join(str(f) for f in fatal[:10])
        more = f"; and {len(fatal) - 10} more" if len(fatal) > 10 else ""
        raise FormatError(f"{report.source}: {listed}{more}")
    frame, count = report.frame, len(report.frame)

    def column(name: str) -> list[object]:
        return frame[name].tolist() if name in frame.columns else [None] * count

    custom = [(name, frame[name].tolist()) for name in frame.columns if name not in COLUMNS]
    invoices = []
    # Every invoice is six models; the cyclic collector would rescan all the ones made before each
    # time it runs (three times slower for 100,000 rows). Nothing built here has a reference cycle.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for position, values in enumerate(zip(*(column(c) for c in COLUMNS), strict=True)):
            row = dict(zip(COLUMNS, values, strict=True))
            fields = {name: cells[position] for name, cells in custom if cells[position] is not None}
            invoices.append(invoice_from_row(row, fields))
    finally:
        if collecting:
            gc.enable()
    return invoices


def invoice_from_row(row: dict[str, object], custom_fields: dict[str, str]) -> Invoice:
    """The canonical invoice of one report row (canonical column -> typed value)."""
    customer_id, email = row.get("customer_id"), row.get("customer_email")
    return Invoice(
        number=row["invoice_number"],
        issue_date=row.get("issue_date"),
        due_date=row.get("due_date"),
        currency=row.get("currency"),
        order_reference=row.get("order_reference"),
        buyer=Party(
            name=row.get("customer_name"),
            ids=[Identifier(value=customer_id)] if customer_id else [],
            contact=Contact(email=email) if email else None,
        ),
        totals=Totals(tax_inclusive=row.get("amount"), payable=row.get("open_amount")),
        custom_fields=custom_fields,
    )


def read_open_ar_csv(
    path: Path,
    source: str | None = None,
    options: CsvOptions = CsvOptions(),  # noqa: B008 - frozen, so sharing the default is safe
) -> list[Invoice]:
    """The invoices of the report at ``path``; :class:`FormatError` naming the file and the first problems."""
    return report_to_invoices(read_open_ar_report(path, source, options))


# -- writing --------------------------------------------------------------------------------------


def _standard_cells(invoice: Invoice) -> list[str]:
    buyer, totals = invoice.buyer, invoice.totals
    values = (
        invoice.number,
        buyer.ids[0].value if buyer.ids else None,
        buyer.name,
        buyer.contact.email if buyer.contact else None,
        invoice.issue_date,
        invoice.due_date,
        invoice.currency,
        totals.tax_inclusive,
        totals.payable,
        invoice.order_reference,
    )
    return [as_text(v) for v in values]


def write_open_ar_csv(invoices: Iterable[Invoice], sink: SupportsWrite[bytes]) -> None:
    """The invoices as an open-AR report: UTF-8, comma, ISO dates, ``.`` decimals, custom fields last.

    A custom field named like a standard header (``Open Amount``) replaces that column's value, as in the
    AP Agility writer; one named like another alias (``Balance``) is refused, because the file would
    then have two open-amount columns and could not be read back.
    """
    invoices = list(invoices)
    standard = list(HEADERS.values())
    extra: dict[str, None] = {}
    for invoice in invoices:
        for name in invoice.custom_fields:
            if name in extra or name in standard:
                continue
            if (column := canonical_column(name)) is not None:
                raise ValueError(
                    f"invoice {invoice.number}: the custom field {name!r} would be read back as {column}; "
                    f"rename it, or name it {HEADERS[column]!r} to replace that column's value"
                )
            extra[name] = None
    overrides = [(i, h) for i, h in enumerate(standard) if any(h in inv.custom_fields for inv in invoices)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*standard, *extra])
    for count, invoice in enumerate(invoices, 1):
        fields = invoice.custom_fields
        cells = _standard_cells(invoice)
        for index, header in overrides:
            if header in fields:
                cells[index] = fields[header]
        row = [*cells, *(fields.get(name, "") for name in extra)]
        writer.writerow([neutralise_formula(cell) for cell in row])
        if count % _WRITE_BATCH == 0:
            sink.write(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
    sink.write(buffer.getvalue().encode("utf-8"))
