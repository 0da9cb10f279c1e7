"""Report charts: matplotlib Figures sized for an A4 page, one colour per brand throughout.

Figures are built with `matplotlib.figure.Figure` (not pyplot), so nothing is left open in a
global figure registry; a notebook shows one with `display(fig)`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.dates as mdates
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

SIZE = (7.5, 3.2)  # inches: the text width of an A4 page
DPI = 150
PALETTE = [
    "#1f5f8b", "#d1495b", "#edae49", "#6a4c93", "#66a182",
    "#00798c", "#2e4057", "#c47d3a", "#7f8c8d", "#b5651d",
]  # fmt: skip
MUTED = "#555555"
STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.labelcolor": MUTED,
    "axes.edgecolor": "#999999",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "grid.color": "#e5e5e5",
    "grid.linewidth": 0.8,
}


def brand_colors(brands: Sequence[str]) -> dict[str, str]:
    """A fixed colour per brand, by position in `brands` (pass the same list to every chart)."""
    return {b: PALETTE[i % len(PALETTE)] for i, b in enumerate(dict.fromkeys(brands))}


def _figure() -> tuple[Figure, Axes]:
    fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    return fig, fig.add_subplot()


def _no_data(ax) -> None:
    ax.text(0.5, 0.5, "No data for this period", ha="center", va="center", color=MUTED,
            transform=ax.transAxes)  # fmt: skip
    ax.set_xticks([])
    ax.set_yticks([])


def mention_volume_chart(
    volume: pd.DataFrame,
    colors: Mapping[str, str] | None = None,
    ylabel: str = "Mentions per week",
) -> Figure:
    """One line per brand over time (mention_volume's output: rows periods, columns brands)."""
    colors = dict(colors) if colors else brand_colors(volume.columns)
    with mpl.rc_context(STYLE):  # type: ignore[arg-type]  # matplotlib types keys as literals
        fig, ax = _figure()
        if volume.empty or not volume.to_numpy().any():
            _no_data(ax)
            return fig
        for brand in volume.columns:
            ax.plot(volume.index, volume[brand], label=brand, color=colors.get(brand, MUTED),
                    linewidth=1.8, marker="o", markersize=2.5)  # fmt: skip
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.yaxis.grid(True)
        ax.set_axisbelow(True)
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=8))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%-d %b"))
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def share_of_voice_chart(sov: pd.DataFrame, colors: Mapping[str, str] | None = None) -> Figure:
    """Horizontal bars of share of voice (share_of_voice's output), largest on top."""
    colors = dict(colors) if colors else brand_colors(sov["brand"])
    with mpl.rc_context(STYLE):  # type: ignore[arg-type]  # matplotlib types keys as literals
        fig, ax = _figure()
        if sov.empty or not sov["mentions"].sum():
            _no_data(ax)
            return fig
        data = sov.iloc[::-1]
        bars = ax.barh(data["brand"], data["share"], height=0.6,
                       color=[colors.get(b, MUTED) for b in data["brand"]])  # fmt: skip
        pairs = zip(data["share"], data["mentions"], strict=True)
        labels = [f"{share:.1f}%  ({count:,})" for share, count in pairs]
        ax.bar_label(bars, labels=labels, padding=3, fontsize=8, color="#333333")
        ax.set_xlim(0, max(data["share"].max() * 1.25, 1))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:.0f}%"))
        ax.set_xlabel("Share of brand mentions")
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", length=0)
    return fig
