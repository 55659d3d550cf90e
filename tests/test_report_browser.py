"""The report in a real browser: headless Chromium runs it without console errors and the
charts are drawn (SVG in the DOM, coloured pixels in a screenshot).

Needs a Chromium binary (``chromium``, ``chromium-browser``, ``google-chrome`` or
``chromium-headless-shell`` on PATH, or its path in ``SHOCKTWIN_CHROMIUM``); skipped
without one. Marked slow: it runs three small simulations and starts the browser three
times.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from html import unescape
from pathlib import Path

import numpy as np
import pytest
from test_report import mtd_search, optimize_front, regulation_change, save

from shocktwin.reports import write_report
from shocktwin.twin.experiment.replication import run_experiment

pytestmark = pytest.mark.slow

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
              "chromium-headless-shell", "headless_shell", "chrome")
#: Written by the page hook below; Chromium logs page console output with "CONSOLE".
ERROR_TAG = "REPORT-CONSOLE-ERROR"
CHARTS_TAG = "REPORT-CHARTS"

# Runs first in the page: routes console.error/warn, uncaught errors and rejected promises
# to console.log with a tag (Chromium's log does not tell console levels apart), and once
# the page has settled logs how many charts hold drawn SVG paths.
HOOK = """<script>
(function () {
  var tag = "ERROR_TAG ";
  function text(args) { return Array.prototype.map.call(args, String).join(" "); }
  var log = console.log.bind(console);
  console.error = function () { log(tag + "console.error " + text(arguments)); };
  console.warn = function () { log(tag + "console.warn " + text(arguments)); };
  window.addEventListener("error", function (e) { log(tag + "Uncaught " + e.message); });
  window.addEventListener("unhandledrejection", function (e) {
    log(tag + "unhandled rejection " + e.reason); });
  window.addEventListener("load", function () {
    setTimeout(function () {
      var divs = document.querySelectorAll(".plotly-graph-div");
      var drawn = Array.prototype.filter.call(divs, function (d) {
        // Lines, bars and boxes are SVG paths; a heat map is an image.
        return d.querySelectorAll(".main-svg g.trace path, .main-svg g.hm image").length
          > 0; }).length;
      log("CHARTS_TAG drawn=" + drawn + " of=" + divs.length);
    }, 500);
  });
})();
</script>""".replace("ERROR_TAG", ERROR_TAG).replace("CHARTS_TAG", CHARTS_TAG)

# For the screenshot: only the charts, no text, tables or chart toolbars.
CHARTS_ONLY = """<style>
header, nav, h2, h3, h4, p, table, dl, ul, figcaption, summary, .indicators,
.modebar-container { display: none !important; }
section { border: none !important; padding: 0 !important; }
</style>"""


def chromium() -> str | None:
    explicit = os.environ.get("SHOCKTWIN_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else shutil.which(explicit)
    return next((found for name in CANDIDATES if (found := shutil.which(name))), None)


BROWSER = chromium()
needs_browser = pytest.mark.skipif(
    BROWSER is None, reason="no Chromium found (install it, e.g. `apt-get install -y "
                            "chromium` on Debian, or set SHOCKTWIN_CHROMIUM to its path)")


def browse(page: Path, *args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert BROWSER is not None
    command = [BROWSER, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
               "--disable-extensions", "--hide-scrollbars", "--mute-audio",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
               # Run timers and rendering to completion without waiting in real time.
               "--virtual-time-budget=20000", "--run-all-compositor-stages-before-draw",
               *args, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line]


def with_head(html: str, extra: str) -> str:
    return html.replace("<head>", "<head>\n" + extra, 1)


def decode_png(data: bytes) -> np.ndarray:
    """An 8-bit, non-interlaced PNG (what Chromium writes) as a (height, width, channels)
    array; stdlib zlib for the data, numpy for the row filters."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, chunks = 8, []
    width = height = depth = colour = interlace = 0
    while pos < len(data):
        (size,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + size]
        pos += 12 + size
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
    if depth != 8 or interlace or colour not in (0, 2, 4, 6):
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}")
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    stride = width * bpp
    raw = np.frombuffer(zlib.decompress(b"".join(chunks)), dtype=np.uint8).reshape(
        height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = int(raw[y, 0]), raw[y, 1:]
        if kind == 0:
            row = line.copy()
        elif kind == 1:  # Sub: a running sum per channel, modulo 256
            row = np.cumsum(line.reshape(width, bpp), axis=0, dtype=np.uint8).reshape(-1)
        elif kind == 2:  # Up
            row = line + prev
        else:  # Average and Paeth depend on the byte just decoded: byte by byte
            cur = [0] * stride
            src, up = line.tolist(), prev.tolist()
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                b, c = up[i], (up[i - bpp] if i >= bpp else 0)
                if kind == 3:
                    pred = (a + b) >> 1
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                cur[i] = (src[i] + pred) & 255
            row = np.array(cur, dtype=np.uint8)
        out[y] = row
        prev = row
    return out.reshape(height, width, bpp)


def colour_stats(png: Path) -> tuple[int, float]:
    """Distinct colours, and the share of pixels that are not (near) white."""
    rgb = decode_png(png.read_bytes())[..., :3].reshape(-1, 3).astype(np.uint32)
    packed = rgb[:, 0] << 16 | rgb[:, 1] << 8 | rgb[:, 2]
    return int(np.unique(packed).size), float((rgb.min(axis=1) < 245).mean())


def test_png_decoder_reads_every_row_filter() -> None:
    # A 3x5 RGB image written with rows filtered None, Sub, Up, Average and Paeth.
    pixels = np.arange(5 * 3 * 3, dtype=np.uint8).reshape(5, 3, 3) * 7
    rows = pixels.reshape(5, -1).astype(int)
    encoded = bytearray()
    for y, kind in enumerate(range(5)):
        up = rows[y - 1] if y else np.zeros(9, dtype=int)
        line = []
        for i, x in enumerate(rows[y]):
            a = rows[y][i - 3] if i >= 3 else 0
            b, c = up[i], (up[i - 3] if i >= 3 else 0)
            p = a + b - c
            paeth = a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else (
                b if abs(p - b) <= abs(p - c) else c)
            pred = (0, a, b, (a + b) // 2, paeth)[kind]
            line.append((x - pred) % 256)
        encoded += bytes([kind, *line])

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 3, 5, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(bytes(encoded))) + chunk(b"IEND", b""))
    assert (decode_png(png) == pixels).all()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("browser")
    run = save(run_experiment(regulation_change(), replications=2), base / "run")
    folders = [run, mtd_search(base / "m"), optimize_front(base / "o")]
    return write_report(folders, base / "report.html")


@needs_browser
def test_the_report_runs_without_console_errors_and_draws_every_chart(
        report: Path, tmp_path: Path) -> None:
    html = report.read_text(encoding="utf-8")
    figures = html.count('class="plotly-graph-div"')
    assert figures >= 5
    page = tmp_path / "hooked.html"
    page.write_text(with_head(html, HOOK), encoding="utf-8")
    done = browse(page, "--dump-dom", profile=tmp_path / "profile")
    assert done.returncode == 0, done.stderr[-2000:]
    lines = console_lines(done.stderr)
    errors = [x for x in lines if ERROR_TAG in x or "Uncaught" in x]
    assert not errors, "\n".join(errors)
    # The hook ran (so silence above means no errors, not no logging) and every chart drew.
    assert any(f"{CHARTS_TAG} drawn={figures} of={figures}" in x for x in lines), lines
    dom = done.stdout
    assert dom.count('class="main-svg"') >= figures
    for div_id in re.findall(r'<div id="(fig-[^"]+)" class="plotly-graph-div"', html):
        rendered = re.search(rf'<div id="{re.escape(div_id)}" class="([^"]*)"', dom)
        assert rendered is not None and "js-plotly-plot" in rendered.group(1), div_id


@needs_browser
def test_a_screenshot_of_the_charts_is_not_blank(report: Path, tmp_path: Path) -> None:
    html = with_head(report.read_text(encoding="utf-8"), CHARTS_ONLY).replace(
        '<details class="appendix"', '<details open class="appendix"')
    drawn, blank = tmp_path / "charts.html", tmp_path / "blank.html"
    drawn.write_text(html, encoding="utf-8")
    # The control: the same page without plotly.js, so its chart areas stay empty.
    start = html.index("<script>/**\n* plotly.js v")
    end = html.index("</script>", start)
    blank.write_text(html[:start] + "<script>" + html[end:], encoding="utf-8")
    stats = {}
    for page in (drawn, blank):
        png = tmp_path / f"{page.stem}.png"
        done = browse(page, f"--screenshot={png}", "--window-size=1280,2000",
                      profile=tmp_path / f"profile-{page.stem}")
        assert done.returncode == 0 and png.is_file(), done.stderr[-2000:]
        stats[page.stem] = colour_stats(png)
    colours, inked = stats["charts"]
    blank_colours, blank_inked = stats["blank"]
    assert blank_colours <= 16 and blank_inked < 0.01, stats  # the measure sees blankness
    assert colours >= 200 and inked >= 0.03, stats


# --------------------------------------------------------------------------- the review


def five_scenario_review(base: Path) -> tuple[list[Path], Path]:
    """A review of five scenarios as a quarter's campaign leaves it: a history of two
    reviews (each scenario with two shocks: MTD and recovery guarantee, and its hypothesis),
    each scenario's baseline run, an MTD search, a stress gate and an optimisation."""
    from conftest import deep_update
    from test_mtd import MTD_PLANT
    from test_report_review import make_history, stress_folder

    from shocktwin.scenarios.loader import parse_scenario
    from shocktwin.twin.journal.record import make_journal, save_results

    rows = []
    plants = [f"plant-{c}" for c in "abcde"]
    for review, shift in (("2026-Q1", 0.0), ("2026-Q2", -6.0)):
        for i, plant in enumerate(plants):
            for j, shock in enumerate(("outage", "quake")):
                mtd = 30.0 + 8 * i + 5 * j + shift
                rows.append((review, plant, shock, "mtd", mtd, mtd - 6, mtd + 6, "h", 48.0,
                             "passed" if mtd - 6 >= 48 else "failed" if mtd + 6 < 48
                             else "undecided", {}))
                rate = min(0.99, 0.7 + 0.05 * i + 0.02 * j + shift / 100)
                rows.append((review, plant, shock, "recovery_guarantee", rate, rate - 0.1,
                             min(rate + 0.06, 1.0), "", 0.8, "passed" if rate - 0.1 >= 0.8
                             else "failed" if rate + 0.06 < 0.8 else "undecided", {}))
            rows.append((review, plant, "", "hypothesis_share", 0.9, 0.8, 0.96, "", 0.9,
                         "undecided", {}))
    history = make_history(base / "history.duckdb", rows)
    folders = []
    for plant in plants:
        data = deep_update(MTD_PLANT, {"name": plant, "experiment": {"replications": 2}})
        result = run_experiment(parse_scenario(data))
        journal = make_journal(result, started_utc="2026-04-02T03:04:05.000Z",
                               ended_utc="2026-04-02T03:04:09.000Z", scenario_file=None,
                               command=["shocktwin", "run", plant], tables_format="duckdb")
        save_results(result, journal, base / plant)
        folders.append(base / plant)
    folders.append(save(run_experiment(regulation_change(), replications=2), base / "run"))
    folders += [mtd_search(base / "m"), stress_folder(base / "stress"),
                optimize_front(base / "o")]
    return folders, history


@pytest.fixture(scope="module")
def review(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("review")
    folders, history = five_scenario_review(base)
    return {lang: write_report(folders, base / f"review-{lang}.html", history=history,
                               lang=lang) for lang in ("en", "zh-CN")}


def pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF as Chromium writes it: its page objects (not the /Pages tree)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-z])", pdf))


def test_page_counter_counts_page_objects_only() -> None:
    pdf = (b"1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj 2 0 obj <</Type /Pages /Kids "
           b"[3 0 R 4 0 R] /Count 2>> endobj 3 0 obj <</Type /Page>> endobj 4 0 obj "
           b"<</Type/Page /Parent 2 0 R>> endobj")
    assert pdf_pages(pdf) == 2


# Opens the appendix, so its charts draw too, once the page has loaded.
OPEN_APPENDIX = """<script>
window.addEventListener("load", function () {
  document.querySelectorAll("details.appendix").forEach(function (d) { d.open = true; });
});
</script>"""


@needs_browser
@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_both_languages_render_without_console_errors(review: dict[str, Path], lang: str,
                                                      tmp_path: Path) -> None:
    html = review[lang].read_text(encoding="utf-8")
    assert f'<html lang="{lang}">' in html
    figures = html.count('class="plotly-graph-div"')
    page = tmp_path / "hooked.html"
    page.write_text(with_head(html, HOOK + OPEN_APPENDIX), encoding="utf-8")
    done = browse(page, "--dump-dom", profile=tmp_path / "profile")
    assert done.returncode == 0, done.stderr[-2000:]
    lines = console_lines(done.stderr)
    errors = [x for x in lines if ERROR_TAG in x or "Uncaught" in x]
    assert not errors, "\n".join(errors)
    assert any(f"{CHARTS_TAG} drawn={figures} of={figures}" in x for x in lines), lines


# Writes where page one's verdict and indicators lie into the page, for --dump-dom.
LAYOUT = """<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    var out = {};
    ["overall-verdict", "indicator-mtd", "indicator-guarantee"].forEach(function (id) {
      var el = document.getElementById(id);
      if (el) { var r = el.getBoundingClientRect();
                out[id] = [r.top + window.scrollY, r.bottom + window.scrollY, r.width]; }
    });
    var pre = document.createElement("pre");
    pre.id = "layout";
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }, 300);
});
</script>"""


@needs_browser
@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_page_one_shows_the_verdict_and_both_indicators(review: dict[str, Path], lang: str,
                                                        tmp_path: Path) -> None:
    import json

    width, height = 1280, 1100
    html = review[lang].read_text(encoding="utf-8")
    page = tmp_path / "layout.html"
    page.write_text(with_head(html, LAYOUT), encoding="utf-8")
    done = browse(page, "--dump-dom", f"--window-size={width},{height}",
                  profile=tmp_path / "profile")
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="layout">(.*?)</pre>', done.stdout, re.S)
    assert found is not None, done.stdout[-2000:]
    layout = json.loads(found.group(1).replace("&quot;", '"'))
    for element_id in ("overall-verdict", "indicator-mtd", "indicator-guarantee"):
        top, bottom, box_width = layout[element_id]
        assert 0 < top < bottom <= height and box_width > 200, (element_id, layout)
    # What the two indicators say: the most exposed MTD and the lowest guarantee rate.
    dom = done.stdout
    mtd = unescape(dom[dom.index('id="indicator-mtd"'):dom.index('id="indicator-guarantee"')])
    # plant-a's outage: 30 h less 6 h in Q2, the furthest below its 48 h target.
    assert ("24\u00a0h" if lang == "en" else "24\u00a0小时") in mtd
    assert "<b>plant-a</b> · outage" in mtd
    shot = tmp_path / "page-one.png"
    done = browse(review[lang], f"--screenshot={shot}", f"--window-size={width},{height}",
                  profile=tmp_path / "profile-shot")
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    colours, inked = colour_stats(shot)
    assert colours >= 50 and inked >= 0.03, (colours, inked)


@needs_browser
def test_a_printed_five_scenario_review_stays_within_twelve_pages(
        review: dict[str, Path], tmp_path: Path) -> None:
    for lang, report in review.items():
        pdf = tmp_path / f"{lang}.pdf"
        done = browse(report, f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
                      profile=tmp_path / f"profile-{lang}")
        assert done.returncode == 0 and pdf.is_file(), done.stderr[-2000:]
        pages = pdf_pages(pdf.read_bytes())
        assert 2 <= pages <= 12, (lang, pages)
