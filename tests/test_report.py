"""The HTML report of a view and the headers a reader sees (cx.report, headless)."""
import plotly.graph_objects as go
import polars as pl

from cx import report


def test_headers_read_as_words_and_data_columns_stay_as_named():
    h = report.header
    assert h("conversion_from_previous") == "conversion from previous"
    assert h("predicted_clv") == "predicted CLV"
    assert h("csat_ci_low") == "CSAT CI low"
    assert h("p_alive") == "P(alive)" and h("customer_id") == "customer" and h("nps") == "NPS"
    assert h("customers") == "customers"
    # not snake_case: a column of the user's data, or a header a page already wrote
    assert h("web:homepage") == "web:homepage" and h("Share of R²") == "Share of R²"
    assert h("median hours from previous") == "median hours from previous"


def test_html_report_has_escaped_readable_tables_and_every_chart():
    v = report.View("Value", subtitle="Dataset: demo; filters: none.")
    v.add_figure(go.Figure(go.Bar(x=["a"], y=[1]), layout_title_text="Bars"), caption="one bar")
    v.add_table(pl.DataFrame({"customer_id": ["<C1>", "C2"], "predicted_clv": [12.5, None]}), title="Top")
    text = report.html_report(v, link="http://x/value?dataset=demo")
    assert "<h1>Value</h1>" in text and "Dataset: demo; filters: none." in text
    assert text.count('class="plotly-graph-div"') == 1 and "one bar" in text
    assert "<th>customer</th><th>predicted CLV</th>" in text
    assert "&lt;C1&gt;" in text and "<C1>" not in text  # data is text, never markup
    assert "<td>12.5</td>" in text and 'href="http://x/value?dataset=demo"' in text
