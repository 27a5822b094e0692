"""Bokeh figures for the dashboard: plain functions from a small frame to a figure.

Kept apart from the pages so a figure can be built and checked without a server. Titles and axis
labels are English; the categories are the data's own values (Portuguese state names, say).
"""

from __future__ import annotations

from itertools import cycle, islice
from math import pi

import pandas as pd
from bokeh.models import (
    BasicTicker,
    ColumnDataSource,
    HoverTool,
    LabelSet,
    NumeralTickFormatter,
)
from bokeh.palettes import Category20_20
from bokeh.plotting import figure
from bokeh.transform import cumsum

BAR_COLOR = "#1f77b4"
_ROW_PX = 24  # height per bar, so 27 states and 5 profiles both read well


def thousands(value: int) -> str:
    """1234567 -> '1,234,567'."""
    return f"{int(value):,}"


def bar_chart(frame: pd.DataFrame, category: str, value: str, x_label: str, y_label: str) -> figure:
    """Horizontal bars, largest on top, each labelled with its value."""
    data = frame[[category, value]].copy()
    data["label"] = data[value].map(thousands)
    factors = list(reversed(data[category].tolist()))  # bokeh draws the first factor at the bottom
    top = int(data[value].max()) if len(data) else 1
    plot = figure(
        y_range=factors,
        x_range=(0, top * 1.15),  # room for the value labels
        height=80 + _ROW_PX * max(len(data), 1),
        sizing_mode="stretch_width",
        toolbar_location=None,
        tools="",
    )
    source = ColumnDataSource(data)
    plot.hbar(y=category, right=value, height=0.75, source=source, color=BAR_COLOR)
    plot.add_layout(
        LabelSet(
            x=value,
            y=category,
            text="label",
            source=source,
            x_offset=4,
            y_offset=-7,
            text_font_size="11px",
        )
    )
    plot.add_tools(HoverTool(tooltips=[(y_label, f"@{{{category}}}"), (x_label, "@label")]))
    plot.xaxis.axis_label = x_label
    plot.yaxis.axis_label = y_label
    plot.xaxis.ticker = BasicTicker(min_interval=1)  # counts: no ticks at 0.5
    plot.xaxis.formatter = NumeralTickFormatter(format="0,0")
    plot.ygrid.grid_line_color = None
    plot.outline_line_color = None
    return plot


def pie_chart(frame: pd.DataFrame, category: str, value: str, value_label: str) -> figure:
    """The original case study's pie, kept as an alternative view; legend lists every slice."""
    data = frame[[category, value]].copy()
    total = int(data[value].sum()) or 1
    data["angle"] = data[value] / total * 2 * pi
    data["share"] = (data[value] / total).map("{:.1%}".format)
    data["label"] = data[value].map(thousands)
    data["color"] = list(islice(cycle(Category20_20), len(data)))
    plot = figure(
        height=max(440, 60 + 19 * len(data)),
        sizing_mode="stretch_width",
        toolbar_location=None,
        tools="",
        x_range=(-1, 1),
        y_range=(-1, 1),
    )
    plot.wedge(  # radius in screen pixels: a circle however wide the page is
        x=0,
        y=0,
        radius=190,
        radius_units="screen",
        source=ColumnDataSource(data),
        start_angle=cumsum("angle", include_zero=True),
        end_angle=cumsum("angle"),
        line_color="white",
        fill_color="color",
        legend_field=category,
    )
    plot.add_tools(HoverTool(tooltips=[("", f"@{{{category}}}"), (value_label, "@label (@share)")]))
    plot.add_layout(plot.legend[0], "right")
    plot.legend.label_text_font_size = "11px"
    plot.axis.visible = False
    plot.grid.grid_line_color = None
    plot.outline_line_color = None
    return plot
