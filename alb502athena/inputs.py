"""What the input held besides the counts: files found, set aside or unreadable, the load balancers and
dates the files name, and what unparsed lines look like. The verdict (alb502athena.verdict) says it.

Gathered after the diagnosis and only as far as it is cheap: file names are free; the sample of
unparsed lines is a few kilobytes read locally; the query naming the load balancers in the lines runs
only when no request was found although lines were parsed, and not on Athena (it would be billed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alb502athena.objectname import KIND_LABELS
from alb502athena.safetext import inert

if TYPE_CHECKING:
    from alb502athena.diagnosis import Diagnosis
    from alb502athena.engines.base import Engine
    from alb502athena.logfiles import Discovery
    from alb502athena.render import QueryParams

# What the logs read are called, on disk and in S3: "1 of 64 objects unreadable".
FILE, OBJECT = "file", "object"


@dataclass(frozen=True)
class LinesOf:
    """One load balancer named by the parsed lines of the window's partitions."""

    load_balancer: str | None
    lines: int
    in_window: int
    first_seen: str | None
    last_seen: str | None

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Inputs:
    files: int | None = None  # access-log files read (local engine), None when a table was read
    files_found: int | None = None  # access-log files found, in the window or not
    outside_window: int = 0
    set_aside: dict[str, list[str]] = field(default_factory=dict)  # by kind: connection, health_check, ...
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # folders that could not be listed
    # Log-named entries that are not regular files (FIFOs, devices, links to nothing), never opened; in
    # the diagnosis they join the files that could not be read (gather).
    not_regular: list[tuple[str, str]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # folders reached again, not read again
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (path, the path read): read once
    days: tuple[str, str] | None = None  # first and last `day` of the files found
    load_balancers_in_names: list[str] = field(default_factory=list)  # of the files in the window
    load_balancers_in_all_names: list[str] = field(default_factory=list)  # of every file found
    formats: list[tuple[str, int]] = field(default_factory=list)  # shapes of sampled unparsed lines
    sampled_lines: int = 0
    load_balancers_in_sample: list[str] = field(default_factory=list)
    lines_by_load_balancer: list[LinesOf] | None = None  # None: not asked
    notes: list[str] = field(default_factory=list)
    s3: dict[str, Any] | None = None  # what was listed and read from S3 (s3source.S3Plan.as_json)
    # Other ELB logs counted by a listing, by kind, not named (a day folder holds thousands).
    set_aside_counted: dict[str, int] = field(default_factory=dict)
    # What set_aside_counted covers when not every object of the folders (an S3 listing by name ranges).
    set_aside_of: str | None = None
    unit: str = FILE  # what the logs are called in the verdict and notes: OBJECT in S3

    @property
    def units(self) -> str:
        return f"{self.unit}s"

    def as_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "files_found": self.files_found,
            "outside_window": self.outside_window,
            "days": list(self.days) if self.days else None,
            "load_balancers_in_file_names": list(self.load_balancers_in_names),
            "folders_not_followed": [{"path": p, "reason": r} for p, r in self.links],
            "files_read_once": [{"path": p, "same_as": first} for p, first in self.duplicates],
            "unparsed_lines_look_like": [{"format": f, "sampled_lines": n} for f, n in self.formats],
            "load_balancers_in_sampled_lines": list(self.load_balancers_in_sample),
            "lines_by_load_balancer": (
                [x.as_json() for x in self.lines_by_load_balancer]
                if self.lines_by_load_balancer is not None
                else None
            ),
            "s3": self.s3,
        }

    def set_aside_json(self) -> dict[str, Any]:
        counted = {k: {"count": n, "paths": []} for k, n in self.set_aside_counted.items()}
        named = {k: {"count": len(v), "paths": list(v)} for k, v in self.set_aside.items()}
        return dict(sorted({**counted, **named}.items()))

    def links_sentences(self) -> list[str]:
        """The folders reached again through links (a loop cut, a second path) and the files read once
        although reached twice: nothing is lost, but a count that looks low must be explained."""
        out = [inert(f"folder {path} {why}", 700) for path, why in self.links]
        if self.duplicates:
            n = len(self.duplicates)
            out.append(
                f"{n:,} file{'s' if n != 1 else ''} reached by a second path (a link or a hard link) "
                f"read once: the first is {inert(self.duplicates[0][0], 300)}, "
                f"the same file as {inert(self.duplicates[0][1], 300)}"
            )
        return out

    def set_aside_sentence(self) -> str | None:
        """`set aside 3 connection-log and 2 health-check-log files`, or None."""
        counts = {**self.set_aside_counted, **{k: len(v) for k, v in self.set_aside.items()}}
        if not counts:
            return None
        parts = [f"{n:,} {KIND_LABELS.get(k, k)}" for k, n in sorted(counts.items())]
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        total = sum(counts.values())
        of = f" {self.set_aside_of}" if self.set_aside_of else ""
        return f"set aside {listed} {self.unit if total == 1 else self.units}{of}, not ALB access logs"


def from_discovery(found: Discovery) -> Inputs:
    return Inputs(
        files=len(found.files),
        files_found=len(found.all_files),
        outside_window=found.outside_window,
        set_aside={k: [str(p) for p in v] for k, v in found.set_aside.items()},
        unreadable=[(str(p), why) for p, why in found.unreadable],
        not_regular=[(str(p), why) for p, why in found.not_regular],
        links=[(str(p), why) for p, why in found.links],
        duplicates=[(str(p), str(first)) for p, first in found.duplicates],
        days=found.days(),
        load_balancers_in_names=found.load_balancers(),
        load_balancers_in_all_names=found.load_balancers(in_window=False),
    )


def gather(
    d: Diagnosis,
    found: Discovery | None,
    engine: Engine,
    listed: Inputs | None = None,
    heads: Sequence[Sequence[str]] | None = None,
) -> Inputs:
    """Everything the verdict says about the input besides the counts; attached to `d` and returned.
    `listed`: what an S3 listing found (s3source), in place of a discovery on disk, and `heads` the first
    lines of a few of its objects, kept as they were read (S3Reader.heads), in place of the files' own."""
    inputs = listed or (from_discovery(found) if found is not None else Inputs())
    # A FIFO or a device named like a log was found and not read: a file that could not be read, said
    # wherever those are (the verdict's share, bad_files in JSON, the report, stderr).
    known = {p for p, _ in d.bad_files}
    d.bad_files[:0] = [(p, why) for p, why in inputs.not_regular if p not in known]
    t = d.totals
    if t.unparsed_lines and (found is not None or heads is not None):
        from alb502athena.sniff import sniff, sniff_heads

        seen = sniff([f.path for f in found.files]) if found is not None else sniff_heads(heads or [])
        inputs.formats, inputs.sampled_lines = seen.formats, seen.lines
        inputs.load_balancers_in_sample = seen.load_balancers
    parsed = t.lines - t.unparsed_lines
    # ALB object names already say which load balancer each file is from: no second scan for that.
    named = listed is not None or (found is not None and all(f.load_balancer for f in found.files))
    # Where the query read only some load balancers' objects ("$path"), an empty read says nothing of
    # the others: list them as where lines were read and none was of the load balancer asked for.
    narrowed = d.params.scope is not None and bool(d.params.scope.prefixes)
    if t.requests == 0 and (parsed > 0 or narrowed) and not named:
        if engine.name == "athena":
            inputs.notes.append(
                "the load balancers of the lines read were not listed: on Athena that is one more billed "
                "scan; run again without --load-balancer to see them"
            )
        else:
            inputs.lines_by_load_balancer = _lines_by_load_balancer(engine, d.params)
    d.inputs = inputs
    return inputs


def _lines_by_load_balancer(engine: Engine, params: QueryParams) -> list[LinesOf]:
    from alb502athena.render import render_load_balancers

    result = engine.run(render_load_balancers(params))
    at = {c: i for i, c in enumerate(result.columns)}
    return [
        LinesOf(
            r[at["load_balancer"]],
            int(r[at["lines"]] or 0),
            int(r[at["in_window"]] or 0),
            r[at["first_seen"]],
            r[at["last_seen"]],
        )
        for r in result.rows
    ]
