"""Voice of the customer: how customers feel, about what, where: sentiment, themes, effort language."""
import polars as pl
import streamlit as st

from cx import glossary, voc
from cx.charts import voc as vc
from ui import call, chart, clear_results, clicked_points, current_dataset, figures, get_store, page_frame, table

vc = figures(vc)  # figures memoised per input (ui.cache.figure)

help_text = glossary.help_text
f = page_frame("Voice of the customer",
               "What customers write in surveys (solicited) and in reviews, complaints and posts (unsolicited): "
               "how they feel (sentiment of every comment, scored once at import), what about (themes found in "
               "the words), where, and the effort they describe.")

ov = call(voc.overview, filters=f)
sv = call(voc.sentiment_vs_score, filters=f)
r_all = sv.filter(pl.col("metric") == "all")["r"]
c1, c2, c3, c4, c5 = st.columns(5)
c1.metric("Comments", f"{ov['comments']:,}",
          help=f"{help_text('comment_overview')} Here: {ov['comment_rate']:.0%} of {ov['answers']:,} answers, "
               f"from {ov['customers']:,} known customers.")
c2.metric("Mean sentiment", f"{ov['mean_sentiment']:+.2f}", help=help_text("comment_sentiment"))
c3.metric("Negative comments", f"{ov['negative']:.0%}",
          help=f"Comments scoring -0.05 or less. Positive (0.05 or more): {ov['positive']:.0%}; "
               f"neutral: {ov['neutral']:.0%}.")
c4.metric("Effort language", f"{ov['effort_share']:.0%}", help=help_text("effort_language"))
c5.metric("Sentiment ↔ score", f"r = {r_all[0]:.2f}" if r_all.len() and r_all[0] is not None else "–",
          help=help_text("sentiment_vs_score"))

# the number of themes is shared by the Themes, Where and Solicited tabs: chosen above them, kept in the URL
a, b = st.columns([1, 3])
k_opt = a.selectbox("Number of themes", ["automatic"] + [str(i) for i in range(4, 25)], key="voc_k",
                    bind="query-params", help="Automatic: the number (6 to 24) whose themes' words go together best "
                                              "(topic coherence). Themes are computed once per dataset version and "
                                              "kept.")
k = None if k_opt == "automatic" else int(k_opt)
with st.spinner("Finding themes (once per dataset version)…"):
    summ = call(voc.theme_summary, k=k, filters=f)
b.caption(f"{summ.height} themes from TF-IDF (words and word pairs) + NMF, fitted separately on the negative and "
          "the positive clauses, so a theme never mixes complaint and praise. A comment can mention several "
          "themes; a theme's sentiment is the sentiment of the clauses about it. Rename a theme under Themes.",
          help=help_text("themes"))


# ------------------------------------------------------------------------------------------- themes
def themes_tab():
    names = {t: f"{t + 1}. {lbl}" for t, lbl in zip(summ["theme"], summ["label"])}
    left, right = st.columns(2)
    with left:
        ev = chart(vc.theme_bars(summ), key="voc_theme_bars", on_select="rerun", selection_mode="points",
                   caption="Bar length: comments mentioning the theme (label: share of all comments · mean "
                           "sentiment). Colour: red = negative, green = positive. Click a bar to read its comments.")
    with right:
        chart(vc.theme_sentiment_bars(call(voc.theme_sentiment, k=k, filters=f)), key="voc_theme_sent",
              caption="Each bar splits a theme's mentions into negative, neutral and positive.")
    pts = clicked_points(ev)  # a click on a theme's bar opens it under "Read a theme"
    click = pts[0].get("customdata") if pts else None
    if isinstance(click, (list, tuple)) and click[2] in names and st.session_state.get("voc_click") != click[2]:
        st.session_state["voc_open_theme"] = click[2]  # a new click only: the selectbox stays free after it
    st.session_state["voc_click"] = click[2] if isinstance(click, (list, tuple)) else None

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
        clear_results()
        st.rerun()

    st.subheader("Read a theme")
    if st.session_state.get("voc_open_theme") not in names:
        st.session_state.pop("voc_open_theme", None)
    c1, c2, c3 = st.columns([2, 1, 1])
    theme = c1.selectbox("Theme", list(names), format_func=lambda t: names[t], key="voc_open_theme", bind="query-params")
    tone = c2.selectbox("Sentiment", ["any", "negative", "neutral", "positive"], key="voc_open_tone", bind="query-params")
    only_effort = c3.toggle("Only effort language", key="voc_open_effort", bind="query-params")
    ex = call(voc.comment_list, theme=theme, k=k, effort_only=only_effort,
              sentiment_class=None if tone == "any" else tone, limit=200, filters=f)
    table(ex.select("customer_id", "comment", "mention_sentiment", "effort", "metric", "score", "touchpoint",
                    "source", "timestamp"), "voc_examples", title=f"Comments of theme {names[theme]}",
          file_name=f"theme_{theme + 1}_comments.csv", links=True, height=320,
          caption=f"{ex.height} comments, the most typical of the theme first. Anonymous comments have no link.",
          mention_sentiment=st.column_config.NumberColumn("sentiment", format="%+.2f"),
          comment=st.column_config.TextColumn(width="large"))


# ------------------------------------------------------------------------------------------- where
def where_tab():
    dim = st.radio("Break down by", ["touchpoint", "channel", "stage", "metric"], horizontal=True, key="voc_dim",
                   bind="query-params",
                   help="stage: the stage of the interaction the answer rates (same customer and touchpoint, the "
                        "latest at or before the answer), else the touchpoint's usual stage; '(none)' = answers "
                        "about the whole relationship (NPS, trust).")
    left, right = st.columns([2, 3])
    with left:
        chart(vc.sentiment_by_bars(call(voc.sentiment_by, dim, filters=f), dim), key="voc_sent_by",
              caption=f"Mean comment sentiment per {dim} (the 15 with most comments); hover for volume, negative "
                      "share and effort language.")
    with right:
        chart(vc.themes_by_heatmap(call(voc.themes_by, dim, k=k, filters=f), dim), key="voc_themes_by",
              caption=f"Share of each {dim}'s comments that mention each theme: what customers talk about there.")


# ------------------------------------------------------------------------------------------- source
def source_tab():
    src = call(voc.sentiment_by, "source", filters=f)
    cols = st.columns(max(src.height, 1))
    for col, row in zip(cols, src.iter_rows(named=True)):
        col.metric(f"{row['value'].capitalize()} comments", f"{row['comments']:,}",
                   help="Solicited: survey answers. Unsolicited: reviews, complaints, social posts.")
        col.metric(f"{row['value'].capitalize()}: mean sentiment", f"{row['mean_sentiment']:+.2f}",
                   help=f"negative {row['negative_share']:.0%}, positive {row['positive_share']:.0%}, "
                        f"effort language {row['effort_share']:.0%}")
    chart(vc.source_theme_bars(call(voc.themes_by, "source", k=k, filters=f)), key="voc_source_themes",
          caption="For each theme, the share of solicited and of unsolicited comments that mention it: what people "
                  "say when asked, against what they volunteer.")


# ------------------------------------------------------------------------------------------- trend
def trend_tab():
    period = st.radio("Period", ["month", "week"], horizontal=True, key="voc_period", bind="query-params")
    chart(vc.trend_chart(call(voc.trend, period, filters=f)), key="voc_trend",
          caption="Lines: mean comment sentiment per period, solicited and unsolicited. Bars: share of comments "
                  "with effort language (right axis). Periods with few comments move a lot: hover for volume.")


# ------------------------------------------------------------------------------------------- effort
def effort_tab():
    eff = call(voc.effort_summary, filters=f)
    left, right = st.columns([2, 3])
    with left:
        chart(vc.effort_bars(eff), key="voc_effort",
              caption="Comments matching each effort phrase (whole words, any case). 'I had to call three times' "
                      "reads neutral to a sentiment lexicon: these flags catch it.")
    with right:
        ec = call(voc.comment_list, effort_only=True, limit=200, filters=f)
        table(ec.select("customer_id", "comment", "sentiment", "score", "touchpoint", "channel", "timestamp"),
              "voc_effort_list", title="Comments with effort language", file_name="effort_comments.csv",
              links=True, height=380, caption="The latest comments with effort language (up to 200).",
              sentiment=st.column_config.NumberColumn(format="%+.2f"))
    with st.expander("The effort phrases (regular expressions)"):
        table(eff.select("pattern", "regex"), "voc_effort_patterns", title="Effort phrases")


# ------------------------------------------------------------------------------------------- check
def check_tab():
    left, right = st.columns([3, 2])
    with left:
        chart(vc.score_curve(call(voc.sentiment_by_score, filters=f)), key="voc_score_curve",
              caption="Mean sentiment of the comments at each score, each metric on its own scale put on 0..1 "
                      "(NPS 0–10, CSAT 1–5, CES 1–7 with 7 = easy). Rising lines: the words agree with the "
                      "numbers.")
    with right:
        table(sv, "voc_r_table", title="Sentiment vs score",
              caption="r: correlation between comment sentiment and the answer's score, per metric and overall.",
              r=st.column_config.NumberColumn("r (Pearson)", format="%.2f"),
              mean_sentiment=st.column_config.NumberColumn(format="%+.2f"))


# lazy tabs bound to the URL (?tab=Effort): only the open tab computes, a copied link opens it
tabs = st.tabs(["Themes", "Where", "Solicited vs unsolicited", "Over time", "Effort", "Sentiment check"], key="tab",
               bind="query-params")
for tab, draw in zip(tabs, (themes_tab, where_tab, source_tab, trend_tab, effort_tab, check_tab)):
    with tab:
        if tab.open is not False:  # None: state not tracked (then every tab draws)
            draw()
