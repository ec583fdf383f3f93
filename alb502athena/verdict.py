"""The verdict: one status a program can test, one headline a person reads first, and what qualifies it.

Never a false all-clear: "No HTTP 502" is said only when ALB access-log requests were actually read.
When nothing in the window is an ALB request, that is the verdict (status `no_alb_requests`, exit 2),
with what was seen instead. A part of the input left unread or unparsed is said as a share, and a share
above UNREAD_WARNING_SHARE is a warning on the headline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from alb502athena.errors import InputError
from alb502athena.inputs import Inputs
from alb502athena.safetext import inert

if TYPE_CHECKING:
    from alb502athena.diagnosis import Diagnosis

# Above this share of unparsed lines or unreadable files the headline carries a warning: 1% of the
# evidence missing can hide a whole burst of 502s; below it, the share is still said, as a detail.
UNREAD_WARNING_SHARE = 0.01

Status = Literal["502_found", "no_502", "no_alb_requests"]
NOTHING_READ = "No ALB access-log request in the window: "
_MAX_NAMED = 5
_NAME_UNSAFE = re.compile(
    r"[^A-Za-z0-9/._:+-]"
)  # load balancers, formats named in a sentence before "and N more"


@dataclass(frozen=True)
class Verdict:
    status: Status
    headline: str
    warnings: list[str] = field(default_factory=list)  # said on the headline, each its own line
    details: list[str] = field(default_factory=list)  # what qualifies it: load balancers, dates, formats
    load_balancers: list[str] = field(default_factory=list)  # in the window, when known

    @property
    def exit_code(self) -> int:
        """0, or 2 when there was nothing to diagnose (--fail-on-findings adds 1 for findings)."""
        return InputError.exit_code if self.status == "no_alb_requests" else 0

    def headline_lines(self) -> list[str]:
        """The headline, then each warning: what every format shows first."""
        return [self.headline, *(f"Warning: {w}" for w in self.warnings)]

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "headline": self.headline,
            "warnings": list(self.warnings),
            "details": list(self.details),
            "load_balancers": list(self.load_balancers),
        }


def share(part: int, whole: int) -> str:
    """A share as people read it: 3.2%, <0.1%, 100%."""
    if whole <= 0:
        return "0%"
    x = 100 * part / whole
    if 0 < x < 0.1:
        return "<0.1%"
    if 99.9 < x < 100:
        return ">99.9%"
    return f"{x:.1f}%".replace(".0%", "%")


def name(text: str) -> str:
    """A load balancer name or a time read from the logs: only the characters such names have, so no
    format (terminal, markdown, HTML, CSV) can be steered by what a log line holds."""
    return _NAME_UNSAFE.sub("?", text)[:80]


def _names(items: list[str]) -> str:
    shown = [name(x) for x in items[:_MAX_NAMED]]
    more = f" and {len(items) - len(shown)} more" if len(items) > len(shown) else ""
    return ", ".join(shown) + more


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _days(days: tuple[str, str]) -> str:
    return days[0] if days[0] == days[1] else f"{days[0]} to {days[1]}"


def _formats(inputs: Inputs) -> str | None:
    if not inputs.formats:
        return None
    return "; ".join(
        f"{fmt} ({n} of {inputs.sampled_lines} sampled lines)" for fmt, n in inputs.formats[:_MAX_NAMED]
    )


def _load_balancers(d: Diagnosis, inputs: Inputs) -> list[str]:
    """The load balancers of the window: the files' names, the findings' sources, the lines' query."""
    named = set(inputs.load_balancers_in_names)
    named |= {lb for lb, _ in d.load_balancers() if lb}
    named |= {x.load_balancer for x in inputs.lines_by_load_balancer or [] if x.load_balancer and x.in_window}
    return sorted(named)


def no_file_in_window(inputs: Inputs) -> str | None:
    """The verdict when the file names alone show there is nothing to read (before any query), else None."""
    if inputs.files != 0:
        return None
    if inputs.files_found:
        cover = f" (they cover {_days(inputs.days)})" if inputs.days else ""
        found = _plural(inputs.files_found, f"access-log {inputs.unit}")
        reason = f"none of the {found} found falls in the window{cover}"
    elif inputs.set_aside:
        reason = f"no ALB access-log {inputs.unit} was found, only other logs"
    elif inputs.unreadable:
        reason = f"no ALB access-log {inputs.unit} could be read: the folders could not be listed"
    elif inputs.not_regular:
        n = len(inputs.not_regular)
        found = "the one file found is not" if n == 1 else f"none of the {n:,} files found is"
        reason = f"no ALB access-log file could be read: {found} a regular file"
    else:
        reason = f"no ALB access-log {inputs.unit} was found"
    return NOTHING_READ + reason + "."


def _not_from(lb: str, inputs: Inputs) -> str:
    others = [x.load_balancer for x in inputs.lines_by_load_balancer or [] if x.load_balancer]
    others = others or inputs.load_balancers_in_names
    elsewhere = f"; the lines are from {_names(others)}" if others else ""
    return f"no line is from --load-balancer {lb}{elsewhere}"


def _nothing_read(d: Diagnosis, inputs: Inputs) -> str:
    """Why no ALB request was read, as the end of the headline."""
    t = d.totals
    lb = d.params.load_balancer
    no_file = no_file_in_window(inputs)
    if no_file is not None:
        return no_file.removeprefix(NOTHING_READ).removesuffix(".")
    narrowed = d.params.scope is not None and bool(d.params.scope.prefixes)
    if t.lines == 0 and narrowed and lb is not None:  # only its objects were read ("$path")
        return _not_from(lb, inputs)
    if t.lines == 0:
        if inputs.files is not None:
            return f"the window's access-log {inputs.units} ({inputs.files:,}) hold no line: they are empty"
        if narrowed:  # the query read only the objects of some load balancers ("$path")
            return "the table holds no line in the window's objects of the load balancers read"
        return "the table holds no line in the window's partitions"
    if t.unparsed_lines == t.lines:
        looks = f"; they look like {inputs.formats[0][0]}" if inputs.formats else ""
        return f"none of the {_plural(t.lines, 'line')} read is an ALB access-log line{looks}"
    if lb is not None:
        return _not_from(lb, inputs)
    spans = [x for x in inputs.lines_by_load_balancer or [] if x.first_seen]
    cover = ""
    if spans:
        first = min(x.first_seen or "" for x in spans)
        last = max(x.last_seen or "" for x in spans)
        cover = f" (they run from {name(first[:19])} to {name(last[:19])})"
    parsed = t.lines - t.unparsed_lines
    return f"the {_plural(parsed, 'line')} read fall outside the window{cover}"


def verdict(d: Diagnosis) -> Verdict:
    t = d.totals
    inputs = d.inputs or Inputs()
    lbs = _load_balancers(d, inputs)
    warnings: list[str] = []
    details: list[str] = []
    if t.requests == 0:
        status: Status = "no_alb_requests"
        headline = f"{NOTHING_READ}{_nothing_read(d, inputs)}."
    elif t.elb_502 == 0:
        status = "no_502"
        headline = f"No HTTP 502 in the window ({_plural(t.requests, 'request')} read)."
    else:
        status = "502_found"
        top = d.findings[0]
        part = 100 * top.count / t.elb_502
        lead = "All" if part == 100 else "Mostly" if part >= 50 else "Most often"
        headline = (
            f"{lead} {top.signature.id} ({part:.0f}% of {t.elb_502:,} HTTP 502): {top.signature.title}."
        )

    # What was left unread or unparsed, as a share; a warning above the threshold.
    if t.unparsed_lines and t.unparsed_lines < t.lines:
        text = f"{share(t.unparsed_lines, t.lines)} of lines unparsed ({t.unparsed_lines:,} of {t.lines:,})"
        (warnings if t.unparsed_lines / t.lines > UNREAD_WARNING_SHARE else details).append(text)
    # A damaged file read in part is not unreadable: what it lost counts as unparsed lines, said above.
    damaged = len(d.damaged_files)
    for n, what in ((len(d.bad_files) - damaged, "unreadable"), (damaged, "damaged, read in part")):
        if not n:
            continue
        # Log-named FIFOs and devices were found, not read: they count among the files (inputs.gather).
        total = inputs.files + len(inputs.not_regular) if inputs.files is not None else None
        if total:
            text = f"{n:,} of {total:,} {inputs.units} {what} ({share(n, total)})"
            (warnings if n / total > UNREAD_WARNING_SHARE else details).append(text)
        else:
            warnings.append(f"{_plural(n, inputs.unit)} {what}")
    for path, why in inputs.unreadable:
        warnings.append(f"folder {inert(path, 300)} could not be read ({why}): its logs are not counted")

    # Several load balancers are never merged silently.
    lb = d.params.load_balancer
    in_files = inputs.load_balancers_in_names
    if lb is not None and len(in_files) > 1:
        details.append(
            f"only --load-balancer {lb}, of {len(in_files)} in the {inputs.units}: {_names(in_files)}"
        )
    elif lb is None and len(lbs) > 1:
        warnings.append(
            f"{len(lbs)} load balancers in the window, counted together; each finding names its own, "
            f"--load-balancer picks one: {_names(lbs)}"
        )
    if status == "no_alb_requests":
        named = sorted(set(inputs.load_balancers_in_all_names) | set(inputs.load_balancers_in_sample))
        if named:
            details.append(f"load balancers named by the {inputs.units} and lines: {_names(named)}")
        if inputs.days:
            details.append(f"the access-log {inputs.units} cover {_days(inputs.days)} (delivery dates)")
        for x in inputs.lines_by_load_balancer or []:
            details.append(
                f"{name(x.load_balancer or '-')}: {_plural(x.lines, 'line')}, {x.in_window:,} in the window, "
                f"from {name((x.first_seen or '-')[:19])} to {name((x.last_seen or '-')[:19])}"
            )
    looks = _formats(inputs)
    if looks:
        details.append(f"unparsed lines look like: {looks}")
    aside = inputs.set_aside_sentence()
    if aside:
        details.append(aside)
    details += inputs.links_sentences()
    details += inputs.notes
    return Verdict(status, headline, warnings, details, lbs)
