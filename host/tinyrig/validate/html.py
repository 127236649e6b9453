"""A self-contained HTML report: inline CSS and SVG charts, no scripts, no network."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from tinyrig.validate.metrics import LabelMetrics
from tinyrig.validate.report import Comparison, LayerDiff, OpTime, ValidationReport
from tinyrig.validate.sides import Side

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1b1f24;
background:#fff;max-width:1400px}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #d0d7de;padding-bottom:.3rem}h3{font-size:1rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #d0d7de;padding:.25rem .6rem;
text-align:right;font-variant-numeric:tabular-nums}th{background:#f6f8fa}
td.l,th.l{text-align:left}.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}
.badge{display:inline-block;padding:.3rem .8rem;border-radius:1rem;color:#fff;font-weight:700}
.badge.pass{background:#1a7f37;color:#fff}.badge.fail{background:#cf222e;color:#fff}
.muted{color:#57606a}.grid{display:flex;flex-wrap:wrap;gap:1.5rem}
table.wide td,table.wide th{font-size:.85rem;padding:.2rem .4rem}
svg{display:block;margin:.5rem 0}.row-bad td{background:#ffebe9}
"""


def _fmt(value: float | int | None, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1,
           bad_rows: Sequence[int] = (), wide: bool = False) -> str:
    out = ['<table class="wide">' if wide else "<table>"]
    if head:
        out.append("<tr>")
        out += [f'<th class="{"l" if i < left else ""}">{escape(h)}</th>'
                for i, h in enumerate(head)]
        out.append("</tr>")
    for r, row in enumerate(rows):
        out.append('<tr class="row-bad">' if r in bad_rows else "<tr>")
        out += [f'<td class="{"l" if i < left else ""}">{cell}</td>' for i, cell in enumerate(row)]
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def _bars(title: str, labels: Sequence[str], values: Sequence[float], *, unit: str = "",
          horizontal: bool = False) -> str:
    """A bar chart as inline SVG."""
    if not values:
        return ""
    top = max(values) or 1.0
    if horizontal:
        row, label_w, bar_w = 18, 220, 420
        height = row * len(values) + 30
        parts = [f'<svg role="img" aria-label="{escape(title)}" width="{label_w + bar_w + 90}" '
                 f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
                 f'<text x="0" y="14" font-size="13" font-weight="600">{escape(title)}</text>']
        for i, (label, value) in enumerate(zip(labels, values, strict=True)):
            y = 24 + i * row
            width = max(1.0, bar_w * value / top)
            parts.append(f'<text x="{label_w - 6}" y="{y + 12}" font-size="11" '
                         f'text-anchor="end">{escape(label[:34])}</text>')
            parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{width:.1f}" height="{row - 5}" '
                         'fill="#0969da"/>')
            parts.append(f'<text x="{label_w + width + 4:.1f}" y="{y + 12}" font-size="11">'
                         f'{escape(_fmt(value))}{escape(unit)}</text>')
        parts.append("</svg>")
        return "".join(parts)
    width_each = max(14, min(60, 600 // max(1, len(values))))
    height = 180
    total_w = max(width_each * len(values) + 60, 8 * len(title))
    parts = [f'<svg role="img" aria-label="{escape(title)}" width="{total_w}" '
             f'height="{height + 50}" xmlns="http://www.w3.org/2000/svg">',
             f'<text x="0" y="14" font-size="13" font-weight="600">{escape(title)}</text>']
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = max(1.0, height * value / top) if value else 0.0
        x = 30 + i * width_each
        parts.append(f'<rect x="{x}" y="{20 + height - h:.1f}" width="{width_each - 3}" '
                     f'height="{h:.1f}" fill="#0969da"><title>{escape(label)}: '
                     f'{escape(_fmt(value))}</title></rect>')
        parts.append(f'<text x="{x + (width_each - 3) / 2:.1f}" y="{height + 34}" font-size="10" '
                     f'text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _metrics_rows(comparison: Comparison) -> list[list[str]]:
    rows = []
    for m in comparison.outputs:
        rows.append([f"{escape(comparison.a)} vs {escape(comparison.b)}", str(m.output),
                     f"{m.exact}/{m.samples}", _fmt(m.steps_max), _fmt(m.max_abs), _fmt(m.mae),
                     _fmt(m.rmse), _fmt(m.l2r), _fmt(m.cosine, 6), _fmt(m.nse, 6),
                     _fmt(m.mean), _fmt(m.std), _fmt(m.top1)])
    return rows


def _histograms(comparison: Comparison) -> str:
    parts = []
    for m in comparison.outputs:
        if not m.steps_histogram:
            continue
        low, high = min(m.steps_histogram), max(m.steps_histogram)
        keys = (list(range(min(low, -2), max(high, 2) + 1)) if high - low <= 40
                else sorted(m.steps_histogram))
        parts.append(_bars(f"{comparison.a} − {comparison.b}, output {m.output}: error in "
                           "quantized steps (count of values)",
                           [str(k) for k in keys],
                           [float(m.steps_histogram.get(k, 0)) for k in keys]))
    return "".join(parts)


def _confusion(side: str, metrics: LabelMetrics) -> str:
    matrix = metrics.confusion
    if not matrix:
        return ""
    peak = max(max(row) for row in matrix) or 1
    out = [f"<div><h3>{escape(Side(side).title)}</h3>",
           "<table><tr><th>true \\ predicted</th>"]
    out += [f"<th>{j}</th>" for j in range(len(matrix))]
    out.append("</tr>")
    for i, row in enumerate(matrix):
        out.append(f"<tr><th>{i}</th>")
        for j, count in enumerate(row):
            shade = int(235 - 160 * count / peak)
            color = f"rgb({shade},{shade + 10 if shade < 245 else 245},255)" if i == j else (
                f"rgb(255,{shade},{shade})" if count else "#fff")
            out.append(f'<td style="background:{color}">{count}</td>')
        out.append("</tr>")
    out.append("</table></div>")
    return "".join(out)


def _profile(profile: list[OpTime]) -> str:
    if not profile:
        return '<p class="muted">The device reported no per-op timings.</p>'
    timed = all(p.micros is not None for p in profile)
    values = [float(p.micros if timed and p.micros is not None else p.ticks) for p in profile]
    chart = _bars("per-op time" + (" (µs)" if timed else " (ticks)"),
                  [f"{p.index}: {p.name}" for p in profile], values,
                  unit=" µs" if timed else "", horizontal=True)
    rows = [[f"{p.index}", escape(p.name), str(p.ticks), _fmt(p.micros)] for p in profile]
    return chart + _table(["#", "op", "ticks", "µs"], rows, left=2)


def _layers(layers: LayerDiff) -> str:
    first = layers.first
    head = (f'<p class="fail">First op whose output differs: #{first.index} {escape(first.op)} '
            f"(tensor {first.tensor} '{escape(first.name)}'): max {_fmt(first.steps_max)} "
            f"steps, max abs {_fmt(first.max_abs)}, RMSE {_fmt(first.rmse)}</p>"
            if first is not None else
            '<p class="pass">Every intermediate tensor is bit-exact with the host TFLM.</p>')
    if layers.note:
        head += f'<p class="fail">{escape(layers.note)}</p>'
    rows = [[str(r.index), escape(r.op), str(r.tensor), escape(r.name),
             "×".join(map(str, r.shape)), "yes" if r.exact else "no", _fmt(r.steps_max),
             _fmt(r.max_abs), _fmt(r.rmse), _fmt(r.cosine, 6)] for r in layers.rows]
    bad = [i for i, r in enumerate(layers.rows) if not r.exact]
    return head + _table(["#", "op", "tensor", "name", "shape", "bit-exact", "max steps",
                          "max abs", "RMSE", "cosine"], rows, left=4, bad_rows=bad)


def render_html(report: ValidationReport) -> str:
    verdict = "PASS" if report.passed else "FAIL"
    cls = "pass" if report.passed else "fail"
    summary = [
        ["model", escape(report.model)], ["model SHA-256", escape(report.model_sha256[:16])],
        ["device", escape(report.device)], ["board / firmware",
                                            escape(f"{report.board} / {report.firmware}")],
        ["data", escape(report.data)],
        ["samples", f"{report.samples} of {report.requested}"],
        ["state", "kept from sample to sample (--keep-state)" if report.keep_state
         else "reset before every sample (stateless)"],
        ["columns", escape(", ".join(Side(s).title for s in report.sides))],
        ["duration", f"{report.seconds:.1f} s"],
    ]
    main = report.comparison("device", "tflm")
    if main is not None:
        summary.append(["bit-exact with host TFLM", f"{main.exact}/{report.samples}"])
    if report.latency is not None:
        summary.append(["latency median / p95",
                        f"{report.latency.median_us:.0f} / {report.latency.p95_us:.0f} µs"])
    if report.error:
        summary.append(["stopped early", f'<span class="fail">{escape(report.error)}</span>'])
    body = [f"<h1>tinyrig validate: {escape(report.model)} on {escape(report.device)}</h1>",
            f'<p><span class="badge {cls}" id="verdict">{verdict}</span></p>',
            "<h2>Summary</h2>", _table([], summary)]
    if report.checks:
        rows = [[escape(c.expression), _fmt(c.value, 6), escape(c.detail),
                 '<span class="fail">failed</span>' if c.failed else
                 ('<span class="muted">n/a</span>' if c.value is None
                  else '<span class="pass">passed</span>')] for c in report.checks]
        body += ["<h2>Checks</h2>", _table(["check", "value", "measured", "result"], rows,
                                           left=1)]
    if report.labels:
        rows = [[escape(Side(side).title), _fmt(m.accuracy), _fmt(m.mae), _fmt(m.rmse),
                 _fmt(m.max_abs)] for side, m in report.labels.items()]
        body += ["<h2>Against the labels</h2>",
                 _table(["column", "accuracy", "MAE", "RMSE", "max abs"], rows)]
    if report.comparisons:
        rows = [row for c in report.comparisons for row in _metrics_rows(c)]
        body += ["<h2>Per-output metrics</h2>",
                 '<p class="muted">errors of the first column minus the second, real values '
                 "(dequantized); steps in the output's quantization.</p>",
                 _table(["comparison", "output", "bit-exact", "max steps", "max abs", "MAE",
                         "RMSE", "L2 rel", "cosine", "NSE", "mean", "std", "top-1"], rows,
                        wide=True)]
        body.append("<h2>Error histograms</h2>")
        charts = "".join(_histograms(c) for c in report.comparisons)
        body.append(f'<div class="grid">{charts}</div>' if charts
                    else '<p class="muted">No quantized outputs to histogram.</p>')
    confusion = "".join(_confusion(side, m) for side, m in report.labels.items()
                        if m.confusion)
    if confusion:
        body += ["<h2>Confusion matrices</h2>", f'<div class="grid">{confusion}</div>']
    body += ["<h2>Per-op latency (PROFILE)</h2>", _profile(report.profile)]
    if report.layers is not None:
        body += [f"<h2>Layer by layer (sample {report.layers.sample})</h2>",
                 _layers(report.layers)]
    body.append(f'<p class="muted">outputs: '
                f'{escape("; ".join(f"{o.index}: {o.dtype}{list(o.shape)} scale {o.scale:g} zp {o.zero_point}" for o in report.outputs))}'  # noqa: E501
                "</p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>tinyrig validate {escape(report.model)}: {verdict}</title>"
            f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n")


__all__ = ["render_html"]
