"""Segments: behaviour clusters, the persona × behaviour crosstab, a group's outcomes, saved segments."""
import polars as pl
import streamlit as st

from cx import glossary, segments
from cx.charts import journey as jc
from cx.charts import segments as sch
from ui import call, chart, current_dataset, figures, fmt_int, get_store, md_escape, page_frame, table

jc = figures(jc)  # figures memoised per input (ui.cache.figure)
sch = figures(sch)  # figures memoised per input (ui.cache.figure)

help_text = glossary.help_text

f = page_frame("Segments", "Customers grouped by what they do (channels, buying, loops, gives, service "
               "contacts), next to the persona they declared: pick a persona, then a behaviour within it, "
               "and design for it.")
store, ds = get_store(), current_dataset()

c1, c2, c3 = st.columns([1, 1, 2])
k_pick = c1.selectbox("Number of clusters", ["automatic", *map(str, range(2, 11))], key="sg_k", bind="query-params",
                      help="Automatic: the k (2–10) with the best silhouette, fitted on a sample.")
outcomes_too = c2.checkbox("Also cluster on outcomes", False, key="sg_outcomes", bind="query-params",
                           help="Adds recency, tenure, incidents, sentiment, last NPS and CES to the clustering. "
                                "Off by default, so comparing NPS across clusters is not circular.")
k = None if k_pick == "automatic" else int(k_pick)
with st.spinner("Clustering customers…"):
    res = call(segments.run, k=k, include_outcomes=outcomes_too, filters=f)
key = segments.run_key(res.k, res.columns, 0, f)
names = segments.names(store, res, key, ds)
chosen = res.scores.filter(pl.col("chosen"))

m1, m2, m3, m4 = st.columns(4)
m1.metric("Clusters (k)", res.k, help=help_text("clusters") + (" Here chosen automatically." if res.auto_k
                                                                else " Here set by you."))
m2.metric("Silhouette", f"{chosen['silhouette'][0]:.2f}" if chosen.height and chosen["silhouette"][0] is not None
          else "–", help=help_text("silhouette"))
m3.metric("Davies–Bouldin", f"{chosen['davies_bouldin'][0]:.2f}" if chosen.height and
          chosen["davies_bouldin"][0] is not None else "–", help=help_text("davies_bouldin"))
m4.metric("Stability (ARI)", f"{res.stability:.2f}", help=help_text("stability_ari"))
if res.fitted_on and res.fitted_on < res.labels.height:
    st.caption(f"Fitted on {res.fitted_on:,} customers sampled in the engine; all {res.labels.height:,} customers were "
               "then assigned to their nearest cluster where the data lives. Profiles, scores and stability describe "
               "the sample.")
if res.imputed:
    st.caption("Missing values filled with the feature's median before clustering: " + ", ".join(
        f"{sch.feature_label(c)} ({n:,})" for c, n in res.imputed.items()) + ".")


def save_form(customer_ids, label: str, default: str, key: str) -> None:
    """A name and a 'Save segment' button: saves these customers as a segment of the dataset."""
    e2, e3 = st.columns([3, 1], vertical_alignment="bottom")
    seg_name = e2.text_input(label, value=default, key=f"{key}_name", help=help_text("saved_segment"))
    if e3.button("Save segment", key=key):
        n = segments.save(store, seg_name, customer_ids.to_list(), ds)
        st.success(f"Saved '{md_escape(seg_name)}' ({n:,} customers): pick it in the sidebar's Segment filter.")


def clusters_tab():
    chart(sch.sizes_bars(res.sizes, names), key="sg_sizes",
          caption="Each cluster is named from its most over- and under-indexed features. Rename them under "
                  "'Names & saved segments'.")
    chart(sch.profile_heatmap(res.profile, names), key="sg_profile",
          caption="Red = the cluster is above the average customer on that feature, blue = below (in standard "
                  "deviations, counts and amounts on a log scale). Features marked 'not clustered' are shown for "
                  "comparison only. Hover for the cluster's plain average.")
    chart(sch.projection_scatter(res.projection, names, res.explained), key="sg_pca",
          caption=f"Each dot is a customer (a sample of at most 20,000), placed by the two main directions of "
                  f"the {len(res.columns)} clustered features: well-separated colours = distinct behaviours.")


def cross_tab():
    opts = call(segments.declared_options, filters=f)
    by = "persona"
    if opts and opts != ("persona",):
        by = st.selectbox("Compare the clusters with", opts, key="sg_by", bind="query-params",
                          help="A customer attribute: the persona customers declared, or another column the data "
                               "holds (region, tier, an event log's acquisition channel or cohort ...).")
    r = res if by == "persona" else segments.with_declared(store, res, by, filters=f, dataset=ds)
    ct = segments.crosstab(r, names)
    what = "declared persona (customers table)" if by == "persona" else f"value of {by}"
    chart(sch.crosstab_heatmap(ct, names, **({} if by == "persona" else
                                             {"title": f"{by} × behaviour: where each value's customers sit",
                                              "y_title": by})),
          key="sg_cross", caption=f"Each row is a {what}; each cell the share of its customers in a behaviour "
                                  "cluster. A row spread over several clusters behaves in several ways.")
    personas = list(dict.fromkeys(ct["persona"].to_list()))
    a, b = st.columns(2)
    every = "all personas" if by == "persona" else f"every {by}"
    persona = a.selectbox("Persona" if by == "persona" else by, [every, *personas],
                          key="sg_persona" if by == "persona" else f"sg_value_{by}", bind="query-params")
    within = ct if persona == every else ct.filter(pl.col("persona") == persona)
    counts = within.group_by("cluster").agg(pl.col("customers").sum()).sort("customers", descending=True)
    cl = b.selectbox("Behaviour cluster within it", counts["cluster"].to_list(), key=f"sg_cluster_{persona}", bind="query-params",
                     format_func=lambda c: f"{c}. {names.get(c, '')} "
                                           f"({counts.filter(pl.col('cluster') == c)['customers'][0]:,})")
    group = segments.group_members(r, None if persona == every else persona, cl, names)
    if by != "persona":
        group = group.rename({"persona": by})
    label = f"{persona} × {cl}. {names.get(cl, '')}"
    st.markdown(f"**{md_escape(label)}** · {group.height:,} customers")
    if not group.height:
        return
    out = call(segments.outcomes, tuple(group["customer_id"].to_list()), filters=f)
    g1, g2 = st.columns([3, 2])
    with g1:
        chart(jc.funnel_chart(out["funnel"], "Their stage funnel"), key="sg_funnel",
              caption="How far these customers get through the stages in order (cx.journey.funnel, no window).")
    with g2:
        nps, clv = out.get("nps"), out.get("clv")
        if nps is not None and nps.height:
            band = (f" ± {(nps['high'][0] - nps['low'][0]) / 2:.0f}" if "low" in nps.columns
                    and nps["low"][0] is not None else "")
            st.metric("NPS", f"{nps['value'][0]:+.0f}{band}", help=f"{help_text('nps')} Here: their "
                      f"{int(nps['n'][0]):,} NPS answers, ± its 95% interval" + (" (fewer than 30: read with care)."
                                                                                 if nps["low_n"][0] else "."))
        if clv is not None and clv.height and clv["buyers"][0]:
            lo, hi = clv["mean_predicted_clv_low"][0], clv["mean_predicted_clv_high"][0]
            st.metric("Mean predicted CLV", f"{clv['mean_predicted_clv'][0]:,.0f}"
                      + (f" ({lo:,.0f}–{hi:,.0f})" if lo is not None and hi is not None else ""),
                      help="Next 12 months, discounted (cx.clv, fitted on everyone); in brackets its 95% "
                           "bootstrap interval over the group's buyers.")
            st.metric("Mean value to date", f"{clv['mean_historical_value'][0]:,.0f}",
                      help="Net revenue to date per buyer (refunds included).")
            st.metric("Mean P(alive)", f"{clv['mean_p_alive'][0]:.0%}")
        for note in out["notes"]:
            st.caption(note)
    table(group, "sg_members", title=label, file_name="segment_members.csv", links=True, height=260,
          caption=f"{group.height:,} customers" + (" (first 1,000 shown; the CSV has all)" if group.height > 1000
                                                   else ""))
    save_form(group["customer_id"], "Save as a segment named", label[:80], "sg_save")


def k_tab():
    chart(sch.scores_chart(res.scores), key="sg_scores",
          caption=f"Computed on a random sample of {res.sample_size:,} customers. The star is the k in use. "
                  "Automatic k takes the best silhouette; Davies–Bouldin and inertia are shown so you can judge "
                  "the choice.")
    table(res.scores, "sg_scores_table", title="Choosing k", file_name="k_scores.csv",
          caption=f"Stability: adjusted Rand index {', '.join(f'{v:.2f}' for v in res.stability_runs)} between "
                  "this clustering and runs with seeds 1 and 2.")


def names_tab():
    ed = st.data_editor(pl.DataFrame({"cluster": list(names), "name": list(names.values()),
                                      "automatic name": [res.names[c] for c in names]}),
                        disabled=["cluster", "automatic name"], hide_index=True, key="sg_names_edit")
    if st.button("Save names", key="sg_names_save"):
        for c, n in zip(ed["cluster"], ed["name"]):
            store.set_cluster_name(key, int(c), None if n == res.names[int(c)] else n, ds)
        st.rerun()
    st.caption("Names are saved for this dataset and these clustering settings (k, features, filters).",
               help=help_text("cluster_names"))
    saved = call(segments.saved)
    st.markdown("**Saved segments**", help=help_text("saved_segment"))
    if saved.height == 0:
        st.caption("None yet: pick a persona and a cluster under 'Persona × behaviour' and save it.")
        return
    table(saved, "sg_saved", title="Saved segments", file_name="saved_segments.csv")
    d1, d2 = st.columns([2, 1], vertical_alignment="bottom")
    gone = d1.selectbox("Delete a saved segment", saved["segment"].to_list(), key="sg_delete_pick")
    if d2.button("Delete", key="sg_delete"):
        store.delete_segment(gone, ds)
        st.rerun()


def mix_tab():
    st.caption("A second lens on who your customers are: each customer's mix of touchpoints (channel and "
               "touchpoint) is split into a few recurring journey recipes, and each declared persona is matched "
               "to the recipe most of its customers follow.", help=help_text("mix_recipes"))
    pick = st.selectbox("Number of recipes", ["as many as personas", *map(str, range(2, 11))], key="sg_mix_k",
                        bind="query-params", help="By default one recipe per declared persona, so each persona "
                                                  "can meet its recipe.")
    with st.spinner("Finding touchpoint recipes…"):
        mr = call(segments.mix_run, k=None if pick == "as many as personas" else int(pick), filters=f)
    a, b, c, d = st.columns(4)
    a.metric("Recipes (k)", mr.k, help=help_text("mix_recipes"))
    a_txt = f"{mr.agreement:.0%}" if mr.agreement is not None else "–"
    b.metric("Behave as declared", a_txt, help=help_text("mix_agreement"))
    c.metric("Behave like another persona", f"{mr.mismatched:,}", help=help_text("mix_agreement"))
    d.metric("Blends", f"{mr.blended:.0%}", help="Customers whose main recipe is under 60% of their touchpoint "
             "mix: they follow several recipes.")
    if mr.agreement is None:
        st.info("The customers table has no persona: the recipes are shown without a declared persona to "
                "compare with.")
    first = {c: n.split(" · ")[0] for c, n in mr.names.items()}  # axis labels: each recipe's top touchpoint
    chart(sch.crosstab_heatmap(mr.crosstab, first, title="Declared persona × touchpoint recipe",
                               x_title="touchpoint recipe (its top touchpoint; all of them in the table below)"),
          key="sg_mix_cross",
          caption="Each row is a declared persona; each cell the share of that persona following a recipe. A "
                  "persona whose row is one dark cell behaves as it says.", help=help_text("mix_agreement"))
    recipes = mr.components.select("component", "persona", "customers", "share", "mean_strength", "agreement",
                                   "name", "top")

    def pct(c):  # whole percentages; "–" where there is none (a recipe no persona matched)
        return ((pl.col(c) * 100).round(0).cast(pl.Int64).cast(pl.Utf8) + "%").fill_null("–")

    shown = recipes.select(pl.col("component").alias("recipe"), pl.col("name").alias("top touchpoints"), "persona",
                           pl.col("customers").map_elements(fmt_int, return_dtype=pl.Utf8),
                           pct("share"), pct("mean_strength").alias("mean strength"), pct("agreement"))
    table(recipes, "sg_mix_recipes", title="Touchpoint recipes", file_name="touchpoint_recipes.csv",
          shown_as=shown,  # a static table: the recipe names wrap instead of running off the edge
          caption=f"The recipes explain {mr.reconstruction:.0%} of the customers' (square-rooted) touchpoint mix. "
                  "persona: the declared persona matched to the recipe; agreement: the share of its customers "
                  "who declared that persona. The CSV also lists each recipe's top five touchpoints.")
    odd = (mr.members.filter(pl.col("as_declared") == False)  # noqa: E712 - polars
           .sort(["strength", "customer_id"], descending=[True, False])
           .select("customer_id", pl.col("persona").alias("declared"), "behaves_like", "strength", "component"))
    if odd.height:
        st.markdown(f"**Customers who behave like another persona** · {odd.height:,}")
        table(odd, "sg_mix_odd", title="Customers who behave like another persona",
              file_name="behave_like_another_persona.csv", links=True, height=260,
              caption="Strongest recipe first: these customers' declared persona may be out of date, or the "
                      "persona question misread." + (" First 1,000 shown; the CSV has all." if odd.height > 1000
                                                     else ""),
              strength=st.column_config.NumberColumn(format="percent"),
              behaves_like=st.column_config.TextColumn("behaves like"),
              component=st.column_config.NumberColumn("recipe"))
        save_form(odd["customer_id"], "Save them as a segment named", "Behave like another persona", "sg_mix_save")


# lazy tabs bound to the URL (?tab=Choosing%20k): only the open tab draws, a copied link opens it
tabs = st.tabs(["Clusters", "Persona × behaviour", "Touchpoint-mix personas", "Choosing k", "Names & saved segments"],
               key="tab", bind="query-params")
for tab, draw in zip(tabs, (clusters_tab, cross_tab, mix_tab, k_tab, names_tab)):
    with tab:
        if tab.open is not False:  # None: state not tracked (then every tab draws)
            draw()
