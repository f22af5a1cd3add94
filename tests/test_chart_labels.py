"""Chart labels that stay readable (issue 25): placed clear of each other and of the markers, and
bar labels set past the interval's end."""
import plotly.graph_objects as go

from cx.charts import labels_past_intervals, place_labels


def test_a_lone_point_is_labelled_above_it():
    assert place_labels([1.0], [1.0], ["delivery"], (0, 2), (0, 2)) == ["top center"]


def test_two_close_points_get_labels_on_free_sides():
    # 10 px apart on a 520 px plot: the second label cannot sit above too
    pos = place_labels([1.0, 1.02], [1.0, 1.0], ["support_chat", "onboarding_call"], (0, 2), (0, 2))
    assert pos[0] == "top center" and pos[1] != "top center"


def test_crowded_points_take_the_least_crowded_place():
    xs = [1.0 + 0.01 * i for i in range(6)]
    pos = place_labels(xs, [1.0] * 6, [f"touchpoint_{i}" for i in range(6)], (0, 2), (0, 2))
    assert len(pos) == 6 and len(set(pos)) >= 4  # spread over the sides, not all stacked on top


def test_bar_labels_sit_past_the_whisker():
    fig = go.Figure(go.Bar(y=["a", "b"], x=[0.5, -0.2], orientation="h"))
    labels_past_intervals(fig, ["a", "b"], [0.5, -0.2], [0.4, -0.3], [0.6, -0.1], ["50%", "-20%"])
    right, left = fig.data[1], fig.data[2]
    assert list(right.x) == [0.6] and right.textposition == "middle right"  # positive bar: right of its high end
    assert list(left.x) == [-0.3] and left.textposition == "middle left"  # negative bar: left of its low end
    assert fig.data[0].showlegend is False and right.hoverinfo == "skip"
