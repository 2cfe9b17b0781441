"""Reading a CSV export's text for :func:`~mglwkd_lite.data.load_csv`: encoding, header line, fields.

:func:`read_table` turns a file into a table of text cells, or raises a
:class:`~mglwkd_lite.data.DataError` naming the line and the likely cause:

- **Encoding.** A file that is not text in the given encoding raises :class:`EncodingError` naming
  the encoding that likely reads it (``utf-16`` for a byte-order mark, ``utf-16-le`` or
  ``utf-16-be`` when every other byte is zero, ``latin-1`` for older exports).
- **Header line.** Comment lines and a preamble before the header are skipped: the header is the
  first line (of the first 200) that names every expected column. The skipped lines are counted
  (``CsvTable.skipped``) so that the loader can say so. ``skip_rows`` sets their number instead.
- **Fields.** A separator at the end of every row (an empty last field) is dropped. A row with more
  fields than the header, or a quote that is never closed, raises :class:`FormatError` naming the
  line; a separator that is not one character, or that equals the decimal mark, raises
  :class:`DataError`.
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd  # parsing only: every cell is read as text

from .records import DataError, EmptyFileError, EncodingError, FormatError

__all__ = ["CsvTable", "SEP_ALIASES", "HEADER_SEARCH_LINES", "check_separator", "read_table",
           "decimal_comma_hint", "encoding_message", "separator_advice"]

#: What a user can type for a tab on the command line.
SEP_ALIASES = {"\\t": "\t", "tab": "\t"}
#: Lines searched for the header (comments and a preamble before it are skipped).
HEADER_SEARCH_LINES = 200
# Separators tried on the header line when a configured column is missing.
_COMMON_SEPS = (",", ";", "\t", "|")
# Bytes read to find the header and to recognise the encoding.
_HEAD_BYTES = 1 << 16
# The name of the column that catches a trailing separator.
_EXTRA = "\x00extra"
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class CsvTable:
    """The text cells of a CSV export and where they are in the file.

    Attributes
    ----------
    frame : pandas.DataFrame
        One column per header field (names stripped), every cell as text (``""`` when empty).
    header_line : int
        The 1-based line of the header; data row ``i`` is on line ``header_line + 1 + i`` (when the
        file has no blank lines).
    skipped : int
        Lines before the header that were skipped because they do not name the columns (comments,
        a preamble); 0 when ``skip_rows`` was given.
    encoding : str
        The codec the file was read with.
    header : str
        The header line as written.
    """

    frame: pd.DataFrame
    header_line: int
    skipped: int
    encoding: str
    header: str = ""


def check_separator(sep: str, decimal: str = ".") -> str:
    """The field separator to use: ``"\\t"`` and ``"tab"`` become a tab; it must be one character.

    Parameters
    ----------
    sep : str
        As typed.
    decimal : str
        The decimal mark, which the separator must differ from.

    Returns
    -------
    str

    Raises
    ------
    DataError
        ``sep`` or ``decimal`` is not one character, ``sep`` is a quote or a line break, or the two
        are the same.
    """
    sep = SEP_ALIASES.get(sep, sep)
    if len(sep) != 1 or sep in "\"\r\n":
        raise DataError(f"sep must be one character other than a quote or a line break (a tab: '\\t'), "
                        f"got {sep!r}; for example --sep ';'")
    if decimal not in (".", ","):
        raise DataError(f"decimal must be '.' or ',', got {decimal!r}")
    if sep == decimal:
        raise DataError(f"the separator and the decimal mark are both {sep!r}; a file with decimal commas "
                        "separates its fields with another character: pass it, for example --sep ';'")
    return sep


def decimal_comma_hint(text: str, decimal: str) -> str:
    """``"; it looks like a decimal comma: ..."`` when ``text`` is a number written with one, else ``""``."""
    if decimal == "." and _DECIMAL_COMMA.match(text.strip()):
        return "; it looks like a number with a decimal comma: pass decimal=',' (--decimal ,)"
    return ""


def _utf16_guess(head: bytes) -> str | None:
    """``"utf-16-le"`` or ``"utf-16-be"`` when every other byte of ``head`` is zero (UTF-16 without a
    byte-order mark holding mostly ASCII), else None."""
    sample = head[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) >= 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def _check_utf16(source: str, head: bytes, encoding: str) -> None:
    """Refuse a BOM-less UTF-16 file read in another encoding or byte order, naming the one to use."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF8)):
        return
    guess = _utf16_guess(head)
    if guess is None:
        return
    name = codecs.lookup(encoding).name
    # Python's "utf-16" reads a file without a byte-order mark as little-endian.
    reads_as = {"utf-16": "utf-16-le", "utf-16-le": "utf-16-le", "utf-16-be": "utf-16-be"}.get(name)
    if reads_as == guess:
        return
    raise EncodingError(f"{source}: not {encoding} text: every other byte is zero, so the file looks like UTF-16 "
                        f"without a byte-order mark; pass encoding={guess!r} (--encoding {guess} on the "
                        "command line)")


def encoding_message(path: Path, encoding: str, exc: UnicodeError) -> str:
    """Why a file could not be decoded, and the ``encoding`` that likely reads it.

    Parameters
    ----------
    path : pathlib.Path
    encoding : str
        The encoding tried.
    exc : UnicodeError
        What decoding raised.

    Returns
    -------
    str
    """
    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        guess, why = "utf-16", "it starts with a UTF-16 byte-order mark"
    elif _utf16_guess(head):
        guess, why = _utf16_guess(head), "every other byte is zero (UTF-16 without a byte-order mark)"
    elif codecs.lookup(encoding).name != "utf-8" and _decodes(head, "utf-8"):
        guess, why = "utf-8", "its start reads as UTF-8"
    else:
        guess, why = "latin-1", "exports of older or Windows software are often Latin-1 (or cp1252)"
    where = ""
    if isinstance(exc, UnicodeDecodeError) and exc.start < len(exc.object):
        where = f" (byte 0x{exc.object[exc.start]:02x} cannot be decoded)"
    return (f"{path.name}: not {encoding} text{where}; {why}: pass the file's encoding with "
            f"encoding={guess!r} (--encoding {guess} on the command line)")


def _decodes(data: bytes, encoding: str) -> bool:
    """True if ``data`` (possibly cut inside a character at its end) decodes in ``encoding``."""
    try:
        codecs.getincrementaldecoder(encoding)().decode(data, final=False)
    except UnicodeError:
        return False
    return True


def _fields(line: str, sep: str) -> list[str]:
    """The fields of one line, quotes honoured, stripped."""
    try:
        row = next(csv.reader([line], delimiter=sep, skipinitialspace=True), [])
    except csv.Error:
        row = line.split(sep)
    return [f.strip() for f in row]


def _head_lines(path: Path, encoding: str, given: str) -> list[str]:
    """The first :data:`HEADER_SEARCH_LINES` lines of the file, decoded (UnicodeError on bad bytes)."""
    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    _check_utf16(path.name, head, given)
    text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
    lines = [line.rstrip("\r") for line in text.lstrip("\ufeff").split("\n")]
    return lines[:HEADER_SEARCH_LINES]


def _find_header(lines: Sequence[str], sep: str, wanted: Sequence[str]) -> int:
    """Index of the first line naming every wanted column; else of the first line that is not a comment."""
    for i, line in enumerate(lines):
        if set(wanted) <= set(_fields(line, sep)):
            return i
    for i, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#"):
            return i
    return 0


def separator_advice(header: str, sep: str, wanted: Sequence[str]) -> str:
    """"; ... sep=';' ..." when another common separator splits ``header`` into the wanted columns.

    Parameters
    ----------
    header : str
        The header line.
    sep : str
        The separator given.
    wanted : sequence of str
        The expected columns.

    Returns
    -------
    str
        The advice, or ``""``.
    """
    for other in _COMMON_SEPS:
        if other != sep and set(wanted) <= set(_fields(header, other)):
            return (f"; the header splits into the expected columns with sep={other!r} "
                    f"(--sep {other!r} on the command line)")
    return ""


def _names(source: str, header: list[str], wanted: Sequence[str]) -> list[str]:
    """Column names from the header fields: empty ones ``Unnamed: k``; a wanted name twice is an error."""
    names, seen = [], {}
    for k, name in enumerate(header):
        name = name or f"Unnamed: {k}"
        if name in seen:
            if name in wanted:
                raise FormatError(f"{source}: the header names column {name!r} twice (fields {seen[name] + 1} "
                                  f"and {k + 1}); expected each column once")
            name = f"{name}.{k}"
        seen[name] = k
        names.append(name)
    return names


def _diagnose(path: Path, encoding: str, sep: str, header_line: int, n_fields: int) -> str:
    """Where and why pandas could not split the file: the first row with too many fields or a bad quote."""
    source = path.name
    with open(path, encoding=encoding, newline="") as fh:
        for _ in range(header_line):
            fh.readline()
        reader = csv.reader(fh, delimiter=sep, skipinitialspace=True, strict=True)
        previous = header_line
        try:
            for row in reader:
                start, previous = previous + 1, header_line + reader.line_num
                if previous > start and any("\n" in f or "\r" in f for f in row):
                    return (f"{source}: line {start} opens a quote (\") that is not closed on that line "
                            f"(the field runs on to line {previous}); remove the stray quote or close it")
                extra = row[n_fields:]
                if len(extra) > 1 or (extra and extra[0].strip()):
                    hint = ("; decimal commas? then the file separates its fields with another character: pass it "
                            "with --sep, and --decimal ," if sep == "," and len(row) >= 1.5 * n_fields
                            else "; a value with a stray separator in it, or a field too many?")
                    return (f"{source}: line {start} has {len(row)} fields, but the header (line {header_line}) "
                            f"has {n_fields}{hint}")
        except csv.Error as exc:
            line = previous + 1
            if "end of data" in str(exc):
                return (f"{source}: line {line} opens a quote (\") that is never closed; remove the stray "
                        "quote or close it")
            return f"{source}: line {line} cannot be split into fields ({exc}); check its quotes"
    return ""


def read_table(path: Path, *, sep: str, encoding: str, wanted: Sequence[str], skip_rows: int | None = None
               ) -> CsvTable:
    """Read a CSV export's cells as text, after the lines before its header.

    Parameters
    ----------
    path : pathlib.Path
        The file (not empty).
    sep : str
        One character (see :func:`check_separator`).
    encoding : str
        A Python codec name; ``utf-8`` also reads a file that starts with a UTF-8 byte-order mark.
    wanted : sequence of str
        The columns the caller needs (they locate the header line).
    skip_rows : int, optional
        Lines before the header; None finds the header (the first of :data:`HEADER_SEARCH_LINES`
        lines naming every wanted column, else the first line that is neither blank nor a ``#``
        comment).

    Returns
    -------
    CsvTable

    Raises
    ------
    EncodingError
        The file is not text in ``encoding`` (the message names the encoding that likely reads it).
    EmptyFileError
        No header line.
    FormatError
        A row has more fields than the header, a quote is never closed, or the header names a wanted
        column twice.
    """
    source, given = path.name, encoding
    if codecs.lookup(encoding).name == "utf-8":
        encoding = "utf-8-sig"  # a byte-order mark is not part of the first column's name
    try:
        lines = _head_lines(path, encoding, given)
    except UnicodeError as exc:
        raise EncodingError(encoding_message(path, given, exc)) from None
    if skip_rows is not None and skip_rows < 0:
        raise DataError(f"skip_rows must be 0 or more lines, got {skip_rows}")
    h = _find_header(lines, sep, wanted) if skip_rows is None else int(skip_rows)
    if h >= len(lines) or not lines[h].strip():
        raise EmptyFileError(f"{source}: no header line{f' after the {h} skipped lines' if h else ''}; "
                             f"expected the columns {list(wanted)}")
    header = _fields(lines[h], sep)
    names = _names(source, header, wanted)
    try:
        frame = pd.read_csv(path, sep=sep, header=None, names=[*names, _EXTRA], skiprows=h + 1, dtype=str,
                            keep_default_na=False, skipinitialspace=True, encoding=encoding, index_col=None)
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=[*names, _EXTRA], dtype=str)
    except UnicodeError as exc:
        raise EncodingError(encoding_message(path, given, exc)) from None
    except (pd.errors.ParserError, ValueError) as exc:
        why = _diagnose(path, encoding, sep, h + 1, len(names))
        raise FormatError(why or f"{source}: cannot split the rows after the header (line {h + 1}) into "
                                 f"fields: {str(exc).strip().splitlines()[-1]}") from None
    extra = frame[_EXTRA].str.strip() != ""
    if not isinstance(frame.index, pd.RangeIndex) or extra.any():
        i = int(extra.to_numpy().argmax())
        raise FormatError(_diagnose(path, encoding, sep, h + 1, len(names))
                          or f"{source}: line {h + 2 + i} has more fields than the header (line {h + 1})")
    return CsvTable(frame.drop(columns=_EXTRA), h + 1, h if skip_rows is None else 0, encoding, lines[h])
