"""``check --upgrade-to``'s part of the table: a summary line per object, then what differs."""

from __future__ import annotations

from kubectl_kserve_mn.cli.tables import table, wrap
from kubectl_kserve_mn.cli.terminal import TextStyle
from kubectl_kserve_mn.findings import ItemReport
from kubectl_kserve_mn.findings.upgrade import layout_text


def _fits(value: bool | None) -> str:
    return "-" if value is None else "yes" if value else "no"


def upgrade_section(reports: list[ItemReport], style: TextStyle | None = None) -> list[str]:
    """The lines of the upgrade report (none when ``--upgrade-to`` was not given)."""
    style = style or TextStyle()
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
        table(rows, ["KIND", "NAMESPACE", "NAME", "UPGRADE", "ADMISSION", "LAYOUT", "FITS NOW"], style),
    ]
    for r in judged:
        up = r.upgrade
        assert up is not None
        if not up.differences and not up.notes and up.fix_first in (None, "nothing to change"):
            continue
        where = f"{r.namespace}/{r.name}" if r.namespace else r.name
        lines += ["", f"{r.kind} {where}: {up.verdict} ({up.from_version} -> {up.to_version})"]
        lines += [wrap(d, "  ", "      ", style) for d in up.differences]
        if up.fix_first is not None:
            lines.append(wrap(f"fix under {up.to_version}: {up.fix_first}", "  ", "      ", style))
        lines += [wrap(f"note: {n}", "  ", "      ", style) for n in up.notes]
    return lines
