"""Inline-SVG chart helpers: valid XML, escaped text, positive sizes, honest gaps."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from synthpipe.report import svg

EVIL = "<script>alert('x')</script> & \"co\""


def _parse(markup: str) -> ET.Element:
    root = ET.fromstring(markup)
    assert root.tag == "svg"
    return root


def _size(root: ET.Element) -> tuple[float, float]:
    w, h = float(root.get("width")), float(root.get("height"))
    vb = [float(x) for x in root.get("viewBox").split()]
    assert vb[2] == pytest.approx(w) and vb[3] == pytest.approx(h)
    return w, h


def _texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter("text")]


CHARTS = {
    "bar": lambda: svg.bar_chart(["a", EVIL, "c"], [0.9, None, 0.4], reference=[0.95, 0.5, None],
                                 title=EVIL, threshold=0.85),
    "hist": lambda: svg.histogram([0, 1, 2, 3], [4, None, 7], title=EVIL),
    "overlay": lambda: svg.overlaid_histograms(
        [0.0, 0.5, 1.0, 1.5], {"real": [10, 20, 5], EVIL: [12, 18, None]}, title=EVIL),
    "cats": lambda: svg.category_bars(["x", EVIL, "z", "w", "v"],
                                      {"real": [5, 6, None, 1, 2], "synthetic": [5, 5, 5, 5, 5]},
                                      title=EVIL),
    "heat": lambda: svg.heatmap([[1.0, -0.3], [-0.3, None]], ["a", EVIL], title=EVIL),
    "line": lambda: svg.line_chart([1, 2, 3, 4], {"train": [3.0, 2.0, None, 1.0],
                                                  EVIL: [3.5, 2.5, 2.0, 1.5]}, title=EVIL),
    "curves": lambda: svg.curve_chart({"real": ([0.1, 0.5, 1.0], [1.0, 0.6, 0.25]),
                                       EVIL: ([0.2, None, 1.0], [0.9, 0.5, 0.25])},
                                      title=EVIL, baseline=0.25, baseline_label="guessing"),
}


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_chart_is_valid_xml_with_positive_size_and_escaped_text(name):
    markup = CHARTS[name]()
    root = _parse(markup)
    w, h = _size(root)
    assert w > 0 and h > 0
    # The hostile label survives as text (title or a drawn label), never as markup.
    assert "<script>" not in markup
    assert "&lt;script&gt;" in markup
    titles = ["".join(t.itertext()) for t in root.iter("title")]
    assert any("<script>" in t for t in titles + _texts(root))
    assert root.find(".//script") is None
    # No namespace URL and no element ids: many charts share one page without a single URL.
    assert "http" not in markup
    assert " id=" not in markup


def test_every_rect_and_line_has_finite_nonnegative_geometry():
    for make in CHARTS.values():
        root = _parse(make())
        for rect in root.iter("rect"):
            for attr in ("x", "y", "width", "height"):
                value = float(rect.get(attr))
                assert math.isfinite(value)
            assert float(rect.get("width")) >= 0 and float(rect.get("height")) >= 0


def test_missing_bar_value_is_drawn_as_na_not_zero():
    root = _parse(svg.bar_chart(["a", "b"], [0.5, None]))
    assert "n/a" in _texts(root)
    bars = [r for r in root.iter("rect") if r.find("title") is not None]
    assert len(bars) == 1  # only the real value got a bar


def test_suppressed_bins_are_marked_not_plotted_as_zero():
    root = _parse(svg.overlaid_histograms([0, 1, 2], {"real": [10, None]}))
    tips = ["".join(t.itertext()) for t in root.iter("title")]
    assert any("suppressed" in t for t in tips)
    markup = svg.category_bars(["a", "b"], {"real": [None, 3]})
    assert "suppressed" in markup


def test_histogram_normalizes_each_series_to_its_own_total():
    root = _parse(svg.overlaid_histograms([0, 1, 2], {"real": [1, 3], "synthetic": [10, 30]},
                                          totals={"real": 4, "synthetic": 40}))
    tips = ["".join(t.itertext()) for t in root.iter("title")]
    # The filled (first) series shows 75% in its second bin, like the synthetic one would.
    assert any(t.startswith("real") and t.endswith("75%") for t in tips)
    assert "75%" in _texts(root)  # the y-axis top label


def test_no_data_charts_still_render():
    for markup in (
        svg.overlaid_histograms([], {"real": []}),
        svg.category_bars([], {}),
        svg.heatmap([], []),
        svg.line_chart([], {"loss": []}),
    ):
        root = _parse(markup)
        assert "no data" in _texts(root)


def test_control_characters_are_removed_so_xml_stays_valid():
    markup = svg.bar_chart(["bad\x00\x07name"], [0.5], title="t\x1b")
    root = _parse(markup)
    assert "badname" in "".join(_texts(root)) + "".join(
        "".join(t.itertext()) for t in root.iter("title"))


def test_long_labels_are_truncated_with_full_text_in_tooltip():
    long = "a_very_long_column_name_that_goes_on_and_on_forever"
    root = _parse(svg.bar_chart([long], [0.3]))
    labelled = [t for t in root.iter("text") if t.find("title") is not None]
    assert [t.find("title").text for t in labelled] == [long]  # full name as tooltip
    shown = labelled[0].find("title").tail
    assert shown.endswith("\u2026") and len(shown) <= 28 and long.startswith(shown[:-1])


def test_diverging_colour_scale():
    assert svg.diverging_color(0.0) == "#f7f7f7"
    red = svg.diverging_color(1.0)
    blue = svg.diverging_color(-1.0)
    assert int(red[1:3], 16) > int(red[5:7], 16)  # red end: more red than blue
    assert int(blue[5:7], 16) > int(blue[1:3], 16)  # blue end: more blue than red
    assert svg.diverging_color(None) == svg.diverging_color(float("nan")) == "#d5d9de"
    assert svg.diverging_color(5.0) == red  # clipped to the range


def test_heatmap_shows_values_in_large_cells_and_grey_for_missing():
    root = _parse(svg.heatmap([[1.0, 0.25], [0.25, None]], ["a", "b"]))
    assert "0.25" in _texts(root)
    fills = [r.get("fill") for r in root.iter("rect")]
    assert "#d5d9de" in fills


def test_line_chart_breaks_at_missing_values():
    root = _parse(svg.line_chart([1, 2, 3, 4, 5], {"loss": [5, 4, None, 2, 1]}))
    assert len(list(root.iter("polyline"))) == 2


def test_small_multiples_escapes_labels_and_wraps_panels():
    panel = svg.histogram([0, 1], [3], title="x")
    html = svg.small_multiples([(EVIL, panel), ("b", panel)], caption="c<d")
    root = ET.fromstring(f"<root>{html}</root>")
    figures = root.findall(".//figure")
    assert [f.get("data-column") for f in figures] == [EVIL, "b"]
    assert "c&lt;d" in html


@pytest.mark.parametrize(
    "value, text",
    [
        (0, "0"), (12345, "12,345"), (0.5, "0.5"), (0.93456, "0.935"), (1234.5, "1230"),
        (2024, "2024"), (2025.0, "2025"), (123456.7, "123,000"), (50000.0, "50,000"),
        (99.96, "100"), (0.000123, "0.000123"), (1e-7, "1.00e-07"), (-0.0345, "-0.0345"),
        (None, "n/a"), (float("nan"), "n/a"), (True, "yes"), ("x", "n/a"),
    ],
)
def test_fmt_num(value, text):
    assert svg.fmt_num(value) == text


def test_fmt_pct():
    assert svg.fmt_pct(0.1234) == "12.3%"
    assert svg.fmt_pct(1.0) == "100%"
    assert svg.fmt_pct(0.01) == "1%"
    assert svg.fmt_pct(None) == "n/a"


def test_nice_ticks_are_round_and_cover_the_range():
    ticks = svg.nice_ticks(0.13, 0.97, 5)
    assert ticks == sorted(ticks) and ticks[0] >= 0.13 and ticks[-1] <= 0.97
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1
    assert all(re.fullmatch(r"[0-9.]+", svg.fmt_num(t)) for t in ticks)
    assert svg.nice_ticks(3, 3) == [3]
    assert svg.nice_ticks(float("nan"), 1) == []


def test_curves_keep_their_own_x_and_break_at_gaps():
    root = _parse(svg.curve_chart({"a": ([0.0, 0.5, 1.0], [1.0, 0.5, 0.0]),
                                   "b": ([0.0, 0.2, None, 0.8, 1.0], [0.5] * 5)}))
    lines = root.findall("polyline")
    assert [len(p.get("points").split()) for p in lines] == [3, 2, 2]
    xs = [float(pt.split(",")[0]) for pt in lines[0].get("points").split()]
    assert xs[0] < xs[1] < xs[2]
    assert "no data" in _texts(_parse(svg.curve_chart({})))
