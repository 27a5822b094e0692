"""Bokeh figures for the dashboard: plain functions from a small frame to a figure.

Kept apart from the pages so a figure can be built and checked without a server. Titles and axis
labels are English; the categories are the data's own values (Portuguese state names, say).
"""

from __future__ import annotations

from itertools import cycle, islice
from math import pi

import pandas as pd
from bokeh.layouts import gridplot
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


def percent(share: float) -> str:
    """0.1234 -> '12.3%'; tiny non-zero shares stay visible ('<0.1%')."""
    return "<0.1%" if 0 < share < 0.0005 else f"{share:.1%}"


def bar_chart(frame: pd.DataFrame, category: str, value: str, x_label: str, y_label: str) -> figure:
    """Horizontal bars, largest on top, each labelled with its value."""
    data = frame[[category, value]].copy()
    data["label"] = data[value].map(thousands)
    factors = list(reversed(data[category].tolist()))  # bokeh draws the first factor at the bottom
    top = int(data[value].max()) if len(data) else 1
    plot = figure(
        y_range=factors,
        x_range=(0, top * 1.22),  # room for the value labels
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
    plot.xaxis.axis_label = x_label  # no hover: every bar carries its value already
    plot.yaxis.axis_label = y_label
    plot.xaxis.ticker = BasicTicker(min_interval=1, desired_num_ticks=5)  # counts: no 0.5
    # 20k, 1.2m on the axis once numbers grow, so a half-width chart's ticks never collide
    plot.xaxis.formatter = NumeralTickFormatter(format="0.[0]a" if top >= 10_000 else "0,0")
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


def _plain(plot: figure) -> figure:
    plot.outline_line_color = None
    plot.xgrid.grid_line_color = None
    plot.yaxis.formatter = NumeralTickFormatter(format="0,0")
    plot.y_range.start = 0
    return plot


def column_chart(
    frame: pd.DataFrame, category: str, value: str, x_label: str, y_label: str, height: int = 300
) -> figure:
    """Vertical bars in the frame's order (hours of the day, say), with a hover of the value."""
    data = frame[[category, value]].copy()
    data[category] = data[category].astype(str)
    data["label"] = data[value].map(thousands)
    plot = figure(
        x_range=data[category].tolist(),
        height=height,
        sizing_mode="stretch_width",
        toolbar_location=None,
        tools="",
    )
    plot.vbar(x=category, top=value, width=0.8, source=ColumnDataSource(data), color=BAR_COLOR)
    plot.add_tools(HoverTool(tooltips=[(x_label, f"@{{{category}}}"), (y_label, "@label")]))
    plot.xaxis.axis_label = x_label
    plot.yaxis.axis_label = y_label
    return _plain(plot)


def stacked_columns(
    frame: pd.DataFrame, category: str, stack: str, value: str, y_label: str, height: int = 320
) -> figure:
    """One column per category (a run date) stacked by `stack` (an entity), legend on the right."""
    wide = frame.pivot_table(index=category, columns=stack, values=value, aggfunc="sum")
    wide = wide.fillna(0).astype("int64").sort_index()
    wide.index = wide.index.astype(str)
    stacks = [str(column) for column in wide.columns]
    wide.columns = stacks
    colors = list(islice(cycle(Category20_20[::2] + Category20_20[1::2]), len(stacks)))
    plot = figure(
        x_range=wide.index.tolist(),
        height=height,
        sizing_mode="stretch_width",
        toolbar_location=None,
        tools="",
    )
    source = ColumnDataSource(wide.reset_index(names=category))
    renderers = plot.vbar_stack(
        stacks, x=category, width=0.7, color=colors, source=source, legend_label=stacks
    )
    for renderer, name in zip(renderers, stacks, strict=True):
        tips = [("Run date", f"@{{{category}}}"), (name, f"@{{{name}}}{{0,0}}")]
        plot.add_tools(HoverTool(renderers=[renderer], tooltips=tips))
    plot.add_layout(plot.legend[0], "right")
    plot.legend.label_text_font_size = "11px"
    plot.yaxis.axis_label = y_label
    return _plain(plot)


def _number(value: float) -> str:
    """A count with separators; a ratio (views per profile) with two decimals."""
    return thousands(value) if float(value).is_integer() else f"{value:,.2f}"


def line_chart(
    frame: pd.DataFrame, day: str, value: str, label: str, share: bool = False, height: int = 220
) -> figure:
    """One daily series: a line with a dot per day (a gap where a day has no value), the days
    as categories in order, and a hover of each day's value."""
    data = frame[[day, value]].copy()
    data["label"] = data[value].map(
        lambda v: "—" if pd.isna(v) else (percent(v) if share else _number(v))
    )
    plot = figure(
        x_range=data[day].tolist(),
        height=height,
        sizing_mode="stretch_width",
        toolbar_location=None,
        tools="",
        title=label,
    )
    source = ColumnDataSource(data)
    plot.line(x=day, y=value, source=source, color=BAR_COLOR, line_width=2)
    dots = plot.scatter(x=day, y=value, source=source, size=7, color=BAR_COLOR)
    plot.add_tools(
        HoverTool(renderers=[dots], tooltips=[("Day", f"@{{{day}}}"), (label, "@label")])
    )
    plot.xaxis.major_label_orientation = pi / 4 if len(data) > 10 else 0
    plot.yaxis.formatter = NumeralTickFormatter(format="0.0%" if share else "0,0.[00]")
    plot.outline_line_color = None
    plot.xgrid.grid_line_color = None
    return plot


def series_grid(
    frame: pd.DataFrame, day: str, columns: list[str], labels: dict[str, str], shares: tuple
):
    """Every daily series as one grid of line charts, two per row, sharing the days' axis: one
    Bokeh layout to send and draw, not one per chart."""
    plots = [
        line_chart(frame, day, column, labels.get(column, column), share=column in shares)
        for column in columns
    ]
    for plot in plots[1:]:
        plot.x_range = plots[0].x_range
    return gridplot(plots, ncols=2, sizing_mode="stretch_width", toolbar_location=None)
