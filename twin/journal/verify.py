"""Checking a saved run: is its journal the one the run wrote, and do its tables match it?

:func:`verify_journal` recomputes the hash chain of a ``journal.json`` (see
:mod:`twin.journal`) and reports every record that was edited, removed, inserted or moved,
an edited header, and — when ``results.duckdb`` or the Parquet tables are beside the
journal — every results table whose content no longer has the sha256 the run recorded, and
every replication whose KPIs in the ``replications`` table differ from its
``ReplicationFinished`` record.

``journal_hash`` itself cannot be recomputed from the files: it covers the KPI series and
the station rows as the run held them (each value's ``repr``), while the tables keep them
as float64. The per-table sha256 in ``RunFinished``, which is in the chain, stands in for it.

A journal that cannot be read or is not a hash-chained journal (format 1) raises
:class:`JournalError`; anything found wrong in a readable one is a :class:`Finding`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from shocktwin.errors import ReplayError, SimulationError
from shocktwin.jsontext import read_json
from shocktwin.twin.journal.document import (
    DOCUMENT_FILES,
    DOCUMENT_HEADER_FIELDS,
    DocumentError,
    DocumentKind,
    closing_kind,
    document_header_hash,
    load_raw,
    read_document,
)
from shocktwin.twin.journal.record import (
    HEADER_FIELDS,
    JOURNAL_FORMAT,
    JOURNAL_FORMATS,
    header_hash,
    record_hash,
    table_digests,
)

__all__ = [
    "CLOSING_FIELDS",
    "EXIT_INTACT",
    "EXIT_TAMPERED",
    "EXIT_UNREADABLE",
    "RESULT_DOCUMENTS",
    "Finding",
    "FindingKind",
    "JournalError",
    "VerifyReport",
    "render_report",
    "verify_document",
    "verify_journal",
    "verify_results",
]

EXIT_INTACT, EXIT_TAMPERED, EXIT_UNREADABLE = 0, 1, 2

#: Top-level journal fields besides the header: written when the run ends.
CLOSING_FIELDS: tuple[str, ...] = ("ended_utc", "status", "journal_hash", "records",
                                   "chain_hash")
#: Largest journal read (a long run journals every lot: hundreds of MB at the most).
_JOURNAL_LIMIT = 1024 * 1024 * 1024
#: Results tables the run writes, when its RunFinished record names none.
_TABLES: tuple[str, ...] = ("replications", "series", "stations")
# Header fields that RunStarted repeats (header name -> record key), to name an edited one.
_STARTED = {"scenario_hash": "scenario_hash", "seed": "seed", "engine": "engine",
            "replications": "replications", "started_utc": "at_utc"}
# Top-level fields that RunFinished repeats.
_FINISHED = {"ended_utc": "at_utc", "status": "status", "journal_hash": "journal_hash"}


class JournalError(SimulationError):
    """A journal cannot be read, or is not one that can be verified."""


class FindingKind(StrEnum):
    """What was done to a journal or its tables."""

    #: A record's content no longer hashes to its ``hash`` (or was re-hashed afterwards).
    EDITED = "edited"
    #: A record of the chain is missing.
    REMOVED = "removed"
    #: A record that was never part of the chain, or a second copy of one.
    INSERTED = "inserted"
    #: A record of the chain is out of its place.
    REORDERED = "reordered"
    #: A top-level field of the journal was edited, added or removed.
    HEADER = "header"
    #: A results table differs from what the run recorded.
    MEASUREMENTS = "measurements"


@dataclass(frozen=True)
class Finding:
    """One thing found changed."""

    kind: FindingKind
    message: str
    #: Position in the journal's ``records`` list; for a removed record, the position it had.
    #: None for the header and the tables.
    index: int | None = None
    #: The record's kind (``ReplicationFinished``, ...) where known.
    record_kind: str | None = None

    def __str__(self) -> str:
        if self.index is None:
            where = "tables" if self.kind is FindingKind.MEASUREMENTS else "header"
            return f"{where}: {self.message}"
        where = f"record {self.index}"
        if self.record_kind:
            where += f" ({self.record_kind})"
        return f"{where}: {self.kind}: {self.message}"


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of :func:`verify_journal`: intact when nothing was found."""

    journal: Path
    records: int
    #: The chain hash stored in the journal.
    chain_hash: str
    journal_hash: str
    #: Results files whose tables were checked (empty when none are beside the journal).
    tables: tuple[Path, ...]
    findings: tuple[Finding, ...]
    #: "journal" for a run's journal, else the document kind (mtd, pareto, stress).
    kind: str = "journal"

    @property
    def intact(self) -> bool:
        return not self.findings

    @property
    def exit_code(self) -> int:
        return EXIT_INTACT if self.intact else EXIT_TAMPERED

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "file": str(self.journal), "journal": str(self.journal),
                "intact": self.intact, "records": self.records,
                "chain_hash": self.chain_hash, "journal_hash": self.journal_hash,
                "tables": [str(p) for p in self.tables],
                "findings": [{"kind": f.kind.value, "index": f.index,
                              "record_kind": f.record_kind, "message": f.message}
                             for f in self.findings]}


def verify_journal(path: str | Path, *, chain_hash: str | None = None) -> VerifyReport:
    """Check the journal at ``path`` (a results folder or its ``journal.json``).

    ``chain_hash``, when given, is a copy of the chain hash kept elsewhere; a journal whose
    stored one differs was rewritten. Raises JournalError when the journal cannot be read.
    """
    file = Path(path)
    if file.is_dir():
        file = file / "journal.json"
    doc = _read(file)
    records: list[Any] = doc["records"]
    stored_chain, findings = _stored_chain(doc)
    chain = _Chain(records, stored_chain)
    findings += chain.check(_header_hash(doc))
    findings += _check_header(doc, chain, chain_hash)
    tables, found = _check_tables(file.parent, chain)
    findings += found
    findings.sort(key=lambda f: (f.index is None, f.index or 0, list(FindingKind).index(f.kind)))
    digest = doc.get("journal_hash")
    return VerifyReport(journal=file, records=len(records), chain_hash=stored_chain or "",
                        journal_hash=digest if isinstance(digest, str) else "",
                        tables=tables, findings=tuple(findings))


def render_report(report: VerifyReport, *, as_json: bool = False) -> str:
    """The report as the ``verify`` command prints it: text lines, or JSON."""
    if as_json:
        return json.dumps(report.to_dict(), indent=2)
    if report.kind != "journal":
        checked = "its records and header"
    else:
        checked = (", ".join(p.name for p in report.tables)
                   or "no results tables (none beside it)")
    if report.intact:
        digest = f", journal hash {report.journal_hash}" if report.journal_hash else ""
        return _printable(f"{report.journal}: intact — {report.records} records, chain hash "
                          f"{report.chain_hash}{digest}; checked against {checked}")
    lines = [f"{report.journal}: TAMPERED — {len(report.findings)} finding"
             f"{'s' if len(report.findings) > 1 else ''} (checked against {checked})"]
    lines += [f"  {f}" for f in report.findings]
    return "\n".join(_printable(line) for line in lines)


def _printable(line: str) -> str:
    """One line any terminal can show: text from the file (a record's kind, a hash) may hold
    line breaks, control characters or lone surrogates, which cannot even be encoded."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in line)


def _stored_chain(doc: Mapping[str, Any]) -> tuple[str | None, list[Finding]]:
    """The chain hash a journal or document states, and a finding when it states one that
    is not text (null, a number), which nothing else would compare with the chain."""
    stored = doc.get("chain_hash")
    if isinstance(stored, str):
        return stored, []
    if "chain_hash" in doc:
        return None, [Finding(FindingKind.HEADER, f"chain_hash is {stored!r}, not the hash of "
                              "the last record")]
    return None, []


def verify_document(path: str | Path, *, chain_hash: str | None = None) -> VerifyReport:
    """Check a result document (``mtd.json``, ``pareto.json``, ``stress.json``): its hash
    chain, its header, and — when the chain is intact — that it reads as its typed model.

    ``chain_hash`` as for :func:`verify_journal`. Raises DocumentError when the file cannot be
    read, is not a result document, or is intact but not a valid one.
    """
    file = Path(path)
    doc = load_raw(file)
    try:
        kind = DocumentKind(str(doc.get("kind")))
    except ValueError:
        raise DocumentError(f"unknown result kind {doc.get('kind')!r}", file=str(file)
                            ) from None
    stored_chain, findings = _stored_chain(doc)
    chain = _Chain(doc["records"], stored_chain, closing=closing_kind(kind))
    try:
        head: str | None = document_header_hash(doc)
    except (ValueError, TypeError, RecursionError):
        head = None
    findings += chain.check(head)
    known = set(DOCUMENT_HEADER_FIELDS) | {"records", "chain_hash"}
    findings += [Finding(FindingKind.HEADER, f"unexpected top-level field {key!r}")
                 for key in sorted(set(doc) - known)]
    findings += [Finding(FindingKind.HEADER, f"top-level field {key!r} is missing")
                 for key in sorted(known - set(doc))]
    if chain_hash is not None and stored_chain != chain_hash:
        findings.append(Finding(FindingKind.HEADER, f"chain_hash is {stored_chain!r}, not "
                                f"{chain_hash!r} as kept elsewhere: the file was rewritten"))
    findings.sort(key=lambda f: (f.index is None, f.index or 0,
                                 list(FindingKind).index(f.kind)))
    if not findings:
        read_document(file, kind)  # intact: it must also be a valid document of its kind
    return VerifyReport(journal=file, records=len(doc["records"]),
                        chain_hash=stored_chain or "", journal_hash="", tables=(),
                        findings=tuple(findings), kind=kind.value)


#: The files a results folder may hold that ``verify`` checks, in the order it reports them.
RESULT_DOCUMENTS: tuple[str, ...] = ("journal.json", *DOCUMENT_FILES.values())


def verify_results(path: str | Path, *, chain_hashes: Sequence[str] = ()) -> list[VerifyReport]:
    """Check every result in a results folder (a run's journal and its tables, an MTD
    search, an optimisation, a stress gate), or the one result file ``path`` names.

    ``chain_hashes`` are copies of chain hashes kept elsewhere: each must be the chain hash
    of one of the results, or the result it belonged to was rewritten. Raises JournalError
    when there is nothing to check or a result cannot be read.
    """
    target = Path(path)
    if target.is_dir():
        files = [target / name for name in RESULT_DOCUMENTS if (target / name).exists()]
        if not files:
            raise JournalError("holds no results (journal.json, "
                               f"{', '.join(DOCUMENT_FILES.values())})", file=str(target))
    else:
        files = [target]
    single = chain_hashes[0] if len(files) == 1 and len(chain_hashes) == 1 else None
    reports = [verify_journal(f, chain_hash=single) if f.name == "journal.json" or (
        f.suffix == ".json" and f.name not in DOCUMENT_FILES.values() and _is_journal(f))
        else verify_document(f, chain_hash=single) for f in files]
    if single is None and chain_hashes:
        stored = {r.chain_hash for r in reports}
        for kept in chain_hashes:
            if kept not in stored:
                first = reports[0]
                reports[0] = dataclasses.replace(first, findings=(*first.findings, Finding(
                    FindingKind.HEADER, f"no result here has the chain hash {kept} kept "
                    "elsewhere: the result it belonged to was rewritten")))
    return reports


def _is_journal(file: Path) -> bool:
    """A JSON file that is not named as a document: a journal unless it says its kind."""
    try:
        return "kind" not in load_raw(file)
    except DocumentError:
        return True


# --------------------------------------------------------------------------- reading


def _read(file: Path) -> dict[str, Any]:
    name = str(file)
    if not file.exists() and not file.is_symlink():
        raise JournalError("no such file (a results folder holds journal.json)", file=name)
    doc = read_json(file, limit=_JOURNAL_LIMIT, error=JournalError)
    if not isinstance(doc, dict) or not isinstance(doc.get("records"), list):
        raise JournalError("not a shocktwin journal (no list of records)", file=name)
    fmt = doc.get("format")
    if fmt == 1:
        raise JournalError("journal format 1 has no hash chain; only journals written by "
                           f"format {JOURNAL_FORMATS[0]} or later can be verified", file=name)
    if fmt not in JOURNAL_FORMATS:
        raise JournalError(f"unknown journal format {fmt!r}; this version verifies format "
                           f"{JOURNAL_FORMAT}", file=name)
    return doc


def _header_hash(doc: Mapping[str, Any]) -> str | None:
    try:
        return header_hash(doc)
    except (ValueError, TypeError, RecursionError):
        return None


# --------------------------------------------------------------------------- the chain


@dataclass(frozen=True)
class _Entry:
    pos: int
    record: Any
    kind: str | None
    seq: int | None
    stored: str | None
    prev: str | None
    #: The content hashes to the stored hash, and the chain keys are well formed.
    sound: bool

    def get(self, key: str) -> Any:
        return self.record.get(key) if isinstance(self.record, dict) else None


def _entry(pos: int, record: Any) -> _Entry:
    if not isinstance(record, dict):
        return _Entry(pos, record, None, None, None, None, False)
    seq, stored, prev, kind = (record.get(k) for k in ("seq", "hash", "prev_hash", "kind"))
    seq = seq if type(seq) is int and seq >= 0 else None
    stored = stored if isinstance(stored, str) else None
    prev = prev if isinstance(prev, str) else None
    try:
        own: str | None = record_hash(record)
    except (ValueError, TypeError, RecursionError):
        own = None
    sound = own is not None and own == stored and seq is not None and prev is not None
    return _Entry(pos, record, kind if isinstance(kind, str) else None, seq, stored, prev, sound)


class _Chain:
    """The records of a journal, each matched to its place in the chain as written."""

    def __init__(self, records: Sequence[Any], chain_hash: str | None,
                 closing: str = "RunFinished") -> None:
        self.entries = [_entry(pos, r) for pos, r in enumerate(records)]
        self.chain_hash = chain_hash
        #: The kind of record that ends a complete chain.
        self.closing = closing
        #: seq -> the entry that holds that place of the chain (sound or edited).
        self.placed: dict[int, _Entry] = {}
        #: Entries whose content changed, with the place in the chain they hold.
        self.edited: list[tuple[_Entry, int]] = []
        self.inserted: list[tuple[_Entry, str]] = []
        self._place()

    def _place(self) -> None:
        # Where each hash belongs, as the records after it (and chain_hash) remember it.
        referenced: dict[str, int | None] = {}
        for e in self.entries:
            if e.sound and e.seq and e.prev is not None:
                referenced.setdefault(e.prev, e.seq - 1)
        claims: dict[int, list[_Entry]] = {}
        for e in self.entries:
            if e.sound and e.seq is not None:
                claims.setdefault(e.seq, []).append(e)
        for seq, group in sorted(claims.items()):
            linked = [e for e in group if e.stored in referenced]
            keep = linked[0] if linked else min(group, key=lambda e: abs(e.pos - seq))
            self.placed[seq] = keep
            for e in group:
                if e is not keep:
                    why = ("a second copy of record" if e.stored == keep.stored else
                           "a record that claims the place of record")
                    self.inserted.append((e, f"{why} {seq}"))
        for e in self.entries:
            if e.sound:
                continue
            place: int | None = None
            if e.stored is not None and referenced.get(e.stored) is not None:
                place = referenced[e.stored]
            elif e.seq is not None and e.stored is not None and (
                    e.stored == self.chain_hash or e.prev is not None):
                place = e.seq
            if place is not None and place not in self.placed:
                self.placed[place] = e
                self.edited.append((e, place))
            elif e.stored is None or e.seq is None or e.prev is None:
                self.inserted.append((e, "not part of the hash chain (it has no seq, "
                                         "prev_hash or hash)"))
            else:
                self.inserted.append((e, f"not part of the hash chain (it claims to be record "
                                         f"{e.seq}, which is there)"))

    def last(self) -> _Entry | None:
        return self.placed[max(self.placed)] if self.placed else None

    def first(self) -> _Entry | None:
        return self.placed.get(0)

    def of_kind(self, kind: str) -> list[_Entry]:
        return [self.placed[s] for s in sorted(self.placed) if self.placed[s].kind == kind]

    def check(self, head: str | None) -> Iterator[Finding]:
        for e, place in self.edited:
            where = "" if e.pos == place else f" (written as record {place})"
            yield Finding(FindingKind.EDITED, "its content no longer hashes to its hash"
                          + where, e.pos, e.kind)
        for e, why in self.inserted:
            yield Finding(FindingKind.INSERTED, why, e.pos, e.kind)
        yield from self._removed()
        yield from self._rehashed()
        yield from self._reordered()
        first = self.first()
        if first is not None and first.prev is not None and first.prev != head:
            yield Finding(FindingKind.HEADER, "the header no longer hashes to what the first "
                          "record was chained to (prev_hash of record 0)")

    def _removed(self) -> Iterator[Finding]:
        if not self.placed:
            # A journal always holds RunStarted ... RunFinished, a document its closing record.
            yield Finding(FindingKind.REMOVED, "no record of the chain is left", 0)
            return
        top = max(self.placed)
        for start, end in _gaps(sorted(self.placed)):
            before = self.placed.get(start - 1)
            after = self.placed.get(end + 1)
            what = f"record {start} is" if start == end else f"records {start}–{end} are"
            near = [f"after {_name(before)}" if before else "",
                    f"before {_name(after)}" if after else ""]
            yield Finding(FindingKind.REMOVED, f"the chain's {what} missing; "
                          + " and ".join(x for x in near if x), start)
        last = self.placed[top]
        if last.kind != self.closing:
            yield Finding(FindingKind.REMOVED, f"the chain ends with {_name(last)}: the "
                          f"records after it, {self.closing} among them, are missing", top + 1)
        elif self.chain_hash is not None and last.stored != self.chain_hash and last.sound:
            yield Finding(FindingKind.HEADER, "chain_hash is not the hash of the last record, "
                          f"{_name(last)}")

    def _rehashed(self) -> Iterator[Finding]:
        for seq, e in sorted(self.placed.items()):
            after = self.placed.get(seq + 1)
            if after is None or not (e.sound and after.sound) or after.prev == e.stored:
                continue
            yield Finding(FindingKind.EDITED, "it was edited and its hash recomputed: the next "
                          "record was chained to a different one", e.pos, e.kind)

    def _reordered(self) -> Iterator[Finding]:
        seq_of = {id(e): s for s, e in self.placed.items()}
        by_pos = sorted(self.placed.values(), key=lambda e: e.pos)
        by_seq = [self.placed[s] for s in sorted(self.placed)]
        for e, expected in zip(by_pos, by_seq, strict=True):
            if e is not expected:
                seq = seq_of[id(e)]
                yield Finding(FindingKind.REORDERED, f"it was written as record {seq}; this "
                              f"place belongs to {_name(expected)}", e.pos, e.kind)


def _name(e: _Entry) -> str:
    """How a record is named in a message: its kind, replication and position in the file."""
    rep = e.get("replication")
    of = f" of replication {rep}" if type(rep) is int else ""
    return f"{e.kind or 'a record'}{of} (now at position {e.pos})"


def _gaps(seqs: list[int]) -> Iterator[tuple[int, int]]:
    """The runs of numbers missing from 0 to the largest of ``seqs`` (sorted), first to last
    of each. Found between neighbours, never by counting up: a record's seq may have been
    edited to 10**30."""
    expected = 0
    for seq in seqs:
        if seq > expected:
            yield expected, seq - 1
        expected = seq + 1


# --------------------------------------------------------------------------- header


def _check_header(doc: Mapping[str, Any], chain: _Chain,
                  expected_chain: str | None) -> Iterator[Finding]:
    known = set(HEADER_FIELDS) | set(CLOSING_FIELDS)
    for key in sorted(set(doc) - known):
        yield Finding(FindingKind.HEADER, f"unexpected top-level field {key!r}")
    for key in sorted(known - set(doc)):
        yield Finding(FindingKind.HEADER, f"top-level field {key!r} is missing")
    first = chain.first()
    yield from _header_against(doc, first, "RunStarted", _STARTED)
    scenario = doc.get("scenario")
    if isinstance(scenario, dict) and isinstance(doc.get("scenario_hash"), str):
        try:
            text = json.dumps(scenario, sort_keys=True, separators=(",", ":"))
        except (ValueError, TypeError, RecursionError):
            text = None
        # Only a hint: a scenario with non-finite numbers is stored with nulls.
        if (text is not None and hashlib.sha256(text.encode()).hexdigest() != doc["scenario_hash"]
                and (first is None or first.prev != _header_hash(doc))):
            yield Finding(FindingKind.HEADER, "the scenario copy does not hash to "
                          "scenario_hash: the scenario was edited")
    yield from _header_against(doc, chain.last(), "RunFinished", _FINISHED)
    stored = doc.get("chain_hash")
    if expected_chain is not None and stored != expected_chain:
        yield Finding(FindingKind.HEADER, f"chain_hash is {stored!r}, not {expected_chain!r} "
                      "as kept elsewhere: the journal was rewritten")



def _header_against(doc: Mapping[str, Any], entry: _Entry | None, kind: str,
                    fields: Mapping[str, str]) -> Iterator[Finding]:
    """Header fields that differ from the chained ``kind`` record they copy."""
    if entry is None or entry.kind != kind:
        return
    for key, record_key in fields.items():
        if key in doc and doc[key] != entry.get(record_key):
            yield Finding(FindingKind.HEADER, f"{key} is {doc[key]!r}, but the chained "
                          f"{kind} record has {entry.get(record_key)!r}")

# --------------------------------------------------------------------------- tables


def _check_tables(folder: Path, chain: _Chain) -> tuple[tuple[Path, ...], list[Finding]]:
    last = chain.last()
    recorded = last.get("tables_sha256") if last is not None and last.kind == "RunFinished" \
        else None
    names = list(recorded) if isinstance(recorded, dict) and recorded else list(_TABLES)
    sources: list[tuple[Path, dict[str, dict[str, Any]]]] = []
    db = folder / "results.duckdb"
    if db.is_file():
        sources.append((db, _read_duckdb(db, names)))
    parquet = {n: folder / f"{n}.parquet" for n in names}
    if any(p.is_file() for p in parquet.values()):
        sources.append((folder, _read_parquet(parquet)))
    findings: list[Finding] = []
    written = last.get("tables_format") if last is not None and last.kind == "RunFinished" \
        else None
    if written == "duckdb":
        if not db.is_file():
            findings.append(Finding(FindingKind.MEASUREMENTS, "results.duckdb is missing: the "
                                    "run wrote its tables there"))
        stray = [p.name for p in parquet.values() if p.is_file()]
    elif written == "parquet":
        findings += [Finding(FindingKind.MEASUREMENTS, f"{p.name} is missing: the run wrote "
                             "its tables there") for p in parquet.values() if not p.is_file()]
        stray = [db.name] if db.is_file() else []
    else:  # format 2 named no format: check what is there
        stray = []
    if stray:
        findings.append(Finding(FindingKind.MEASUREMENTS, f"{', '.join(stray)} beside the "
                                f"journal: the run wrote its tables as {written}, not these"))
    for where, tables in sources:
        label = where.name if where.is_file() else "the Parquet files"
        if isinstance(recorded, dict):
            digests = table_digests(tables)
            for name in names:
                if name not in tables:
                    findings.append(Finding(FindingKind.MEASUREMENTS,
                                            f"table {name} is missing from {label}"))
                elif digests[name] != recorded.get(name):
                    findings.append(Finding(FindingKind.MEASUREMENTS, f"table {name} in {label} "
                                            "differs from what the run measured (its sha256 "
                                            "is not the one in RunFinished)"))
        if "replications" in tables:
            findings += _check_kpis(tables["replications"], chain, label)
    paths = tuple(p for p, _ in sources if p.is_file()) + tuple(
        p for p in parquet.values() if p.is_file())
    return paths, findings


def _check_kpis(table: Mapping[str, Any], chain: _Chain, label: str) -> Iterator[Finding]:
    rows: dict[int, int] = {}
    for i, r in enumerate(table.get("replication", [])):
        number = _number(r)
        if number is not None and number.is_integer():
            rows.setdefault(int(number), i)
    seen: set[int] = set()
    for e in chain.of_kind("ReplicationFinished"):
        rep = e.get("replication")
        if type(rep) is not int:
            continue
        seen.add(rep)
        if rep not in rows:
            yield Finding(FindingKind.MEASUREMENTS, f"replication {rep} has no row in the "
                          f"replications table of {label}", e.pos, e.kind)
            continue
        i = rows[rep]
        differ: list[str] = []
        if "events" in table and not _same(e.get("events"), _number(table["events"][i])):
            differ.append(f"events {e.get('events')!r} vs {table['events'][i]!r}")
        kpis = e.get("kpis")
        for kpi, value in (kpis.items() if isinstance(kpis, dict) else ()):
            if kpi not in table:
                differ.append(f"{kpi} has no column")
                continue
            stored = _number(table[kpi][i])
            if not _same(value, stored):
                differ.append(f"{kpi} {value!r} vs {stored!r}")
        if differ:
            yield Finding(FindingKind.MEASUREMENTS, f"replication {rep}, journal vs {label}: "
                          + "; ".join(differ), e.pos, e.kind)
    for rep in sorted(set(rows) - seen):
        yield Finding(FindingKind.MEASUREMENTS, f"replication {rep} is in the replications "
                      f"table of {label} but has no ReplicationFinished record")


def _number(value: Any) -> float | None:
    """A table cell as a float; None when it is not a number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _same(journal_value: Any, stored: float | None) -> bool:
    if stored is None:
        return False
    # The journal writes NaN and infinities as null; the tables keep them.
    if journal_value is None:
        return not math.isfinite(stored)
    if isinstance(journal_value, bool) or not isinstance(journal_value, int | float):
        return False
    try:
        return float(journal_value) == stored
    except OverflowError:  # an integer beyond any float: not what the table holds
        return False


def _read_duckdb(db: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    from shocktwin.edge_replay.result_tables import read_duckdb_tables

    try:
        return read_duckdb_tables(db, names)
    except ReplayError as e:
        raise JournalError(e.problems, file=e.file) from None


def _read_parquet(files: Mapping[str, Path]) -> dict[str, dict[str, Any]]:
    from shocktwin.edge_replay.result_tables import read_parquet_tables

    try:
        return read_parquet_tables(files)
    except ReplayError as e:
        raise JournalError(e.problems, file=e.file) from None
