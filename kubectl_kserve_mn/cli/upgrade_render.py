"""``check --upgrade-to``'s part of the table: a summary line per object, then what differs."""

from __future__ import annotations

import textwrap

from tabulate import tabulate

from kubectl_kserve_mn.findings import ItemReport
from kubectl_kserve_mn.findings.upgrade import layout_text


def _wrap(text: str, first: str, rest: str) -> str:
    return textwrap.fill(
        text, width=110, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
    )


def _fits(value: bool | None) -> str:
    return "-" if value is None else "yes" if value else "no"


def upgrade_section(reports: list[ItemReport]) -> list[str]:
    """The lines of the upgrade report (none when ``--upgrade-to`` was not given)."""
    judged = [r for r in reports if r.upgrade is not None]
    if not judged:
        return []
    first = judged[0].upgrade
    assert first is not None
    rows = []
    for r in judged:
        up = r.upgrade
        assert up is not None
        rows.append(
            [
                r.kind,
                r.namespace or "",
                r.name,
                up.verdict,
                "allowed" if up.admission.allowed else "rejected",
                layout_text(up.layout) if up.layout is not None else up.layout_summary or "-",
                _fits(up.fits_now),
            ]
        )
    lines = [
        "",
        f"Upgrade KServe {first.from_version} -> {first.to_version}:",
        tabulate(
            rows,
            headers=["KIND", "NAMESPACE", "NAME", "UPGRADE", "ADMISSION", "LAYOUT", "FITS NOW"],
            tablefmt="plain",
        ),
    ]
    for r in judged:
        up = r.upgrade
        assert up is not None
        if not up.differences and not up.notes and up.fix_first in (None, "nothing to change"):
            continue
        where = f"{r.namespace}/{r.name}" if r.namespace else r.name
        lines += ["", f"{r.kind} {where}: {up.verdict} ({up.from_version} -> {up.to_version})"]
        lines += [_wrap(d, "  ", "      ") for d in up.differences]
        if up.fix_first is not None:
            lines.append(_wrap(f"fix under {up.to_version}: {up.fix_first}", "  ", "      "))
        lines += [_wrap(f"note: {n}", "  ", "      ") for n in up.notes]
    return lines
