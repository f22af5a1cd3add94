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


def test_report_tables_read_as_the_screen_shows_them():
    """Percentages as percentages, separators, a dash for nothing (issue 25: the report showed 0.5467
    where the screen showed 54.67%)."""
    v = report.View("Journey")
    v.add_table(pl.DataFrame({"step": [1, 2], "count": [12_345, 6_789], "conversion_from_first": [1.0, 0.5467],
                              "median_hours": [None, 1234.5678], "share": [0.25, 0.123456]}),
                title="Funnel steps", formats={"conversion_from_first": "percent", "median_hours": "%.1f"})
    text = report.html_report(v)
    row = text.split("<tbody>")[1].split("</tr>")[1]
    assert row == "<tr><td>2</td><td>6,789</td><td>54.7%</td><td>1234.6</td><td>0.12</td>"
    assert "<td>12,345</td><td>100.0%</td><td>–</td><td>0.25</td>" in text
    assert report.cell_text(float("nan")) == "–" and report.cell_text(True) == "yes"


def test_app_csvs_carry_readable_headers_and_the_machine_names():
    from cx.export import to_csv_bytes

    df = pl.DataFrame({"step": [1], "conversion_from_previous": [0.5], "median hours from previous": [2.0],
                       "customer_id": ["=C1"]})
    lines = to_csv_bytes(df, readable=True).decode().splitlines()
    assert lines[0] == "step,conversion from previous,median hours from previous,customer"
    assert lines[1] == "step,conversion_from_previous,median hours from previous,customer_id"
    assert lines[2] == "1,0.5,2.0,'=C1"
    assert to_csv_bytes(df).decode().splitlines()[0].startswith("step,conversion_from_previous")
