import pandas as pd

from reporting.charts import brand_colors, mention_volume_chart, share_of_voice_chart


def test_volume_chart_draws_one_line_per_brand_in_its_colour():
    weeks = pd.date_range("2026-07-06", periods=4, freq="W-MON")
    volume = pd.DataFrame({"Brevio": [3, 5, 2, 8], "Caffora": [1, 0, 4, 2]}, index=weeks)
    colors = brand_colors(["Brevio", "Caffora"])
    ax = mention_volume_chart(volume, colors).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"Brevio", "Caffora"}
    assert list(lines["Brevio"].get_ydata()) == [3, 5, 2, 8]
    assert lines["Caffora"].get_color() == colors["Caffora"] != colors["Brevio"]


def test_share_chart_puts_the_largest_share_on_top_with_labels():
    sov = pd.DataFrame(
        {"brand": ["Brevio", "Caffora"], "mentions": [75, 25], "share": [75.0, 25.0]}
    )
    ax = share_of_voice_chart(sov).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Caffora", "Brevio"]  # bottom to top
    assert {t.get_text() for t in ax.texts} >= {"75.0%  (75)", "25.0%  (25)"}


def test_empty_data_says_so_instead_of_failing():
    empty_volume = pd.DataFrame(columns=["Brevio"])
    empty_sov = pd.DataFrame({"brand": ["Brevio"], "mentions": [0], "share": [0.0]})
    for fig in (mention_volume_chart(empty_volume), share_of_voice_chart(empty_sov)):
        assert [t.get_text() for t in fig.axes[0].texts] == ["No data for this period"]
