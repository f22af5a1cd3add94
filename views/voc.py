"""Voice of the customer: how customers feel, about what, where: sentiment, themes, effort language."""
import polars as pl
import streamlit as st

from cx import voc
from cx.charts import voc as vc
from cx.export import to_csv_bytes
from ui.core import _cached, call, current_dataset, customer_url, get_store, page_frame

f = page_frame("Voice of the customer",
               "What customers write in surveys (solicited) and in reviews, complaints and posts (unsolicited): "
               "how they feel (sentiment of every comment, scored once at import), what about (themes found in "
               "the words), where, and the effort they describe.")

ov = call(voc.overview, filters=f)
sv = call(voc.sentiment_vs_score, filters=f)
r_all = sv.filter(pl.col("metric") == "all")["r"]
c1, c2, c3, c4, c5 = st.columns(5)
c1.metric("Comments", f"{ov['comments']:,}",
          help=f"Feedback rows with a comment: {ov['comment_rate']:.0%} of {ov['answers']:,} answers, from "
               f"{ov['customers']:,} known customers.")
c2.metric("Mean sentiment", f"{ov['mean_sentiment']:+.2f}",
          help="VADER compound score of each comment, -1 (very negative) to +1 (very positive), averaged.")
c3.metric("Negative comments", f"{ov['negative']:.0%}",
          help=f"Comments scoring -0.05 or less. Positive (0.05 or more): {ov['positive']:.0%}; "
               f"neutral: {ov['neutral']:.0%}.")
c4.metric("Effort language", f"{ov['effort_share']:.0%}",
          help="Comments describing effort (on hold, transferred, had to call again, repeating oneself, "
               "confusing, waiting ...): lexicon sentiment misses it, so it is flagged on its own.")
c5.metric("Sentiment ↔ score", f"r = {r_all[0]:.2f}" if r_all.len() and r_all[0] is not None else "–",
          help="Pearson correlation between a comment's sentiment and its answer's score (each metric's score "
               "put on 0..1 by its scale). Near 1: the words agree with the numbers.")

tab_themes, tab_where, tab_source, tab_trend, tab_effort, tab_check = st.tabs(
    ["Themes", "Where", "Solicited vs unsolicited", "Over time", "Effort", "Sentiment check"])

# ------------------------------------------------------------------------------------------- themes
with tab_themes:
    a, b = st.columns([1, 3])
    k_opt = a.selectbox("Number of themes", ["automatic"] + list(range(4, 25)), key="voc_k",
                        help="Automatic: the number (6 to 24) whose themes' words go together best (topic "
                             "coherence). Themes are computed once per dataset version and kept.")
    k = None if k_opt == "automatic" else int(k_opt)
    with st.spinner("Finding themes (once per dataset version)…"):
        summ = call(voc.theme_summary, k=k, filters=f)
    b.caption(f"{summ.height} themes from TF-IDF (words and word pairs) + NMF over the clauses of every comment. "
              "A comment can mention several themes; a theme's sentiment is the sentiment of the clauses about "
              "it. Rename a theme in the table below.")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(vc.theme_bars(summ), key="voc_theme_bars")
        st.caption("Bar length: comments mentioning the theme (label: share of all comments · mean sentiment). "
                   "Colour: red = negative, green = positive.")
    with right:
        st.plotly_chart(vc.theme_sentiment_bars(call(voc.theme_sentiment, k=k, filters=f)), key="voc_theme_sent")
        st.caption("Each bar splits a theme's mentions into negative, neutral and positive.")

    names = {t: f"{t + 1}. {lbl}" for t, lbl in zip(summ["theme"], summ["label"])}
    edit = summ.select(pl.col("theme") + 1, "label", "terms", "comments", "share", "mean_sentiment", "effort_share")
    edited = st.data_editor(
        edit, hide_index=True, key="voc_labels", disabled=["theme", "terms", "comments", "share", "mean_sentiment",
                                                           "effort_share"],
        column_config={"label": st.column_config.TextColumn("label (editable)", max_chars=80),
                       "share": st.column_config.NumberColumn(format="percent"),
                       "effort_share": st.column_config.NumberColumn("effort language", format="percent"),
                       "mean_sentiment": st.column_config.NumberColumn(format="%+.2f")})
    changed = [(t, new) for t, old, new in zip(summ["theme"], summ["label"], edited["label"]) if (new or "") != old]
    if changed and st.button(f"Save {len(changed)} label(s)", key="voc_save_labels", type="primary"):
        store = get_store()
        terms = dict(zip(summ["theme"], summ["terms"]))
        for t, new in changed:
            voc.set_theme_label(store, terms[t], new or "", dataset=current_dataset())
        _cached.clear()
        st.rerun()

    st.subheader("Read a theme")
    c1, c2, c3 = st.columns([2, 1, 1])
    theme = c1.selectbox("Theme", list(names), format_func=lambda t: names[t], key="voc_open_theme")
    tone = c2.selectbox("Sentiment", ["any", "negative", "neutral", "positive"], key="voc_open_tone")
    only_effort = c3.toggle("Only effort language", key="voc_open_effort")
    ex = call(voc.comment_list, theme=theme, k=k, effort_only=only_effort,
              sentiment_class=None if tone == "any" else tone, limit=200, filters=f)
    show = ex.with_columns(pl.Series("customer", [customer_url(c) if c else None
                                                  for c in ex["customer_id"].to_list()], dtype=pl.Utf8))
    st.dataframe(show.select("customer", "comment", "mention_sentiment", "effort", "metric", "score",
                             "touchpoint", "source", "timestamp"),
                 hide_index=True, height=320, key="voc_examples",
                 column_config={"customer": st.column_config.LinkColumn("customer", display_text=r"customer=([^&]+)",
                                                                        help="Open the customer view"),
                                "mention_sentiment": st.column_config.NumberColumn("sentiment", format="%+.2f"),
                                "comment": st.column_config.TextColumn(width="large")})
    st.caption(f"{ex.height} comments, the most typical of the theme first. Anonymous comments have no link.")
    st.download_button("Export these comments (CSV)", to_csv_bytes(ex), file_name=f"theme_{theme + 1}_comments.csv",
                       mime="text/csv", key="voc_export_theme")

# ------------------------------------------------------------------------------------------- where
with tab_where:
    dim = st.radio("Break down by", ["touchpoint", "channel", "stage", "metric"], horizontal=True, key="voc_dim",
                   help="stage: the stage of the interaction the answer rates (same customer and touchpoint, the "
                        "latest at or before the answer), else the touchpoint's usual stage; '(none)' = answers "
                        "about the whole relationship (NPS, trust).")
    left, right = st.columns([2, 3])
    with left:
        st.plotly_chart(vc.sentiment_by_bars(call(voc.sentiment_by, dim, filters=f), dim), key="voc_sent_by")
        st.caption(f"Mean comment sentiment per {dim} (the 15 with most comments); hover for volume, negative "
                   "share and effort language.")
    with right:
        st.plotly_chart(vc.themes_by_heatmap(call(voc.themes_by, dim, k=k, filters=f), dim), key="voc_themes_by")
        st.caption(f"Share of each {dim}'s comments that mention each theme: what customers talk about there.")

# ------------------------------------------------------------------------------------------- source
with tab_source:
    src = call(voc.sentiment_by, "source", filters=f)
    cols = st.columns(max(src.height, 1))
    for col, row in zip(cols, src.iter_rows(named=True)):
        col.metric(f"{row['value'].capitalize()} comments", f"{row['comments']:,}",
                   help="Solicited: survey answers. Unsolicited: reviews, complaints, social posts.")
        col.metric(f"{row['value'].capitalize()}: mean sentiment", f"{row['mean_sentiment']:+.2f}",
                   help=f"negative {row['negative_share']:.0%}, positive {row['positive_share']:.0%}, "
                        f"effort language {row['effort_share']:.0%}")
    st.plotly_chart(vc.source_theme_bars(call(voc.themes_by, "source", k=k, filters=f)), key="voc_source_themes")
    st.caption("For each theme, the share of solicited and of unsolicited comments that mention it: what people "
               "say when asked, against what they volunteer.")

# ------------------------------------------------------------------------------------------- trend
with tab_trend:
    period = st.radio("Period", ["month", "week"], horizontal=True, key="voc_period")
    st.plotly_chart(vc.trend_chart(call(voc.trend, period, filters=f)), key="voc_trend")
    st.caption("Lines: mean comment sentiment per period, solicited and unsolicited. Bars: share of comments "
               "with effort language (right axis). Periods with few comments move a lot: hover for volume.")

# ------------------------------------------------------------------------------------------- effort
with tab_effort:
    eff = call(voc.effort_summary, filters=f)
    left, right = st.columns([2, 3])
    with left:
        st.plotly_chart(vc.effort_bars(eff), key="voc_effort")
        st.caption("Comments matching each effort phrase (whole words, any case). 'I had to call three times' "
                   "reads neutral to a sentiment lexicon: these flags catch it.")
    with right:
        ec = call(voc.comment_list, effort_only=True, limit=200, filters=f)
        ec = ec.with_columns(pl.Series("customer", [customer_url(c) if c else None
                                                    for c in ec["customer_id"].to_list()], dtype=pl.Utf8))
        st.dataframe(ec.select("customer", "comment", "sentiment", "score", "touchpoint", "channel", "timestamp"),
                     hide_index=True, height=380, key="voc_effort_list",
                     column_config={"customer": st.column_config.LinkColumn("customer",
                                                                            display_text=r"customer=([^&]+)"),
                                    "sentiment": st.column_config.NumberColumn(format="%+.2f")})
        st.caption("The latest comments with effort language (up to 200).")
    with st.expander("The effort phrases (regular expressions)"):
        st.dataframe(eff.select("pattern", "regex"), hide_index=True)

# ------------------------------------------------------------------------------------------- check
with tab_check:
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(vc.score_curve(call(voc.sentiment_by_score, filters=f)), key="voc_score_curve")
        st.caption("Mean sentiment of the comments at each score, each metric on its own scale put on 0..1 "
                   "(NPS 0–10, CSAT 1–5, CES 1–7 with 7 = easy). Rising lines: the words agree with the numbers.")
    with right:
        st.dataframe(sv, hide_index=True, key="voc_r_table",
                     column_config={"r": st.column_config.NumberColumn("r (Pearson)", format="%.2f"),
                                    "mean_sentiment": st.column_config.NumberColumn(format="%+.2f")})
        st.caption("r: correlation between comment sentiment and the answer's score, per metric and overall.")
