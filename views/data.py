"""Data: import files (map, validate, import), manage datasets, see what a dataset supports (data
health), edit the stage map and the purchase rules."""
import shutil
import tempfile
from pathlib import Path

import polars as pl
import streamlit as st

import cx
from cx import coverage, schema
from cx.export import to_csv_bytes
from cx.ingest import DELIMITERS, EARLIEST, SAMPLE_DIR, delimiter_name, import_folder, open_source, plausible_dates
from ui import call, version_changed, duckdb_only, get_store, md_escape, on_duckdb, page_header, progress_callback, switch_dataset

page_header("Data", "Upload CSV, Parquet or Excel extracts, map their columns to the data contract, check "
            "every row, and import. Manage datasets and the touchpoint → stage map." if on_duckdb() else
            "The datasets this app reads where they live (on Spark).")
store = get_store()
if duckdb_only("Importing files"):
    st.subheader("Datasets on Spark")
    st.caption("Each dataset is a catalog database or a folder of Parquet/Delta tables named after the kinds of the "
               "data contract (CX_SPARK_DATASETS). Row counts are counted on Spark.")
    st.dataframe(store.datasets(), hide_index=True, key="spark_datasets")
    st.stop()
NONE = "(none)"
DETECTED = "detected: "
DELIMITER_LABELS = {f"{delimiter_name(d)}" + (f" ({d})" if d in ",;|" else ""): d for d in DELIMITERS}
tab_import, tab_datasets, tab_health, tab_stages = st.tabs(["Import a file", "Datasets", "Data health",
                                                           "Stages & purchases"])


def _source(uploaded, sheet: str | None = None, delimiter: str | None = None):
    """One staging read per uploaded file, sheet and delimiter choice (not per rerun)."""
    held = st.session_state.get("import_src")
    if (held and held[0] == uploaded.file_id and sheet in (None, held[1].sheet)
            and delimiter == held[1].delimiter_choice):
        return held[1]
    if held:
        _drop(held[1])
        st.session_state.pop("import_src", None)
    path = Path(tempfile.mkdtemp(prefix="cx_upload_")) / Path(uploaded.name).name
    path.write_bytes(uploaded.getvalue())
    try:
        src = open_source(store, path, sheet=sheet, delimiter=delimiter)
    except BaseException:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise
    src.upload_path = path
    st.session_state["import_src"] = (uploaded.file_id, src)
    st.session_state.pop("import_val", None)
    return src


def _drop(src) -> None:
    """Close a staged upload and delete its file and staging folder."""
    src.close()
    shutil.rmtree(src.upload_path.parent, ignore_errors=True)


def _forget_source():
    held = st.session_state.pop("import_src", None)
    if held:
        _drop(held[1])
    st.session_state.pop("import_val", None)
    st.session_state["upload_n"] = st.session_state.get("upload_n", 0) + 1


with tab_import:
    up = st.file_uploader("File to import", type=["csv", "tsv", "txt", "gz", "parquet", "xlsx"],
                          key=f"upload_{st.session_state.get('upload_n', 0)}",
                          help="Up to the upload limit; larger files go through `python -m cx import`.")
    if up is None and st.session_state.get("import_src"):  # the uploader was cleared: drop its staging file
        _drop(st.session_state.pop("import_src")[1])
        st.session_state.pop("import_val", None)
    if up is not None:
        delim_pick = st.session_state.get(f"delim_{up.file_id}", DETECTED)
        try:
            src = _source(up, st.session_state.get(f"sheet_{up.file_id}"), DELIMITER_LABELS.get(delim_pick))
        except cx.CXError as e:
            st.error(md_escape(e))
            st.stop()
        if len(src.sheets) > 1:
            st.selectbox("Sheet", src.sheets, index=src.sheets.index(src.sheet), key=f"sheet_{up.file_id}",
                         help="The workbook has several sheets; each is imported on its own.")
        if src.format == "csv":
            detected = DETECTED + delimiter_name(src.detected_delimiter)
            options = [detected] + list(DELIMITER_LABELS)
            st.selectbox("Delimiter", options, key=f"delim_{up.file_id}",
                         help="What separates the fields. Whitespace: runs of spaces or tabs (published logs "
                              "aligned in columns); spaces at the start of lines are ignored.")
        details = f"{src.format.upper()}" + (f", {src.encoding}, delimiter: {delimiter_name(src.delimiter)}"
                                             if src.format == "csv" else "")
        st.markdown(f"**{md_escape(src.file_name)}** · {md_escape(details)} · {len(src.columns)} columns")
        with st.expander("First rows of the file, as read", expanded=False):
            st.dataframe(src.preview(10), hide_index=True)
        kinds = list(schema.KINDS)
        kind = st.radio("What does this file hold?", kinds, index=kinds.index(src.detect_kind()),
                        horizontal=True, key=f"kind_{up.file_id}",
                        captions=[schema.KINDS[k].description for k in kinds])
        st.markdown("**Map the columns** (suggested from the headers; * = required). A column the file lacks "
                    "can take a constant value for every row (every row is an `order`). Other columns of the file "
                    "are kept as attributes.")
        suggested = {v: k for k, v in src.suggest_mapping(kind).items()}
        mapping, constants = {}, {}
        contract = schema.KINDS[kind].columns
        where = f"{up.file_id}_{src.sheet}_{src.delimiter}_{kind}"
        for row in range(0, len(contract), 4):
            cols = st.columns(4)
            for cell, col in zip(cols, contract[row:row + 4]):
                opts = [NONE] + src.columns
                pick = cell.selectbox(f"{col.name}{' *' if col.required else ''}", opts,
                                      index=opts.index(suggested.get(col.name, NONE)),
                                      key=f"map_{where}_{col.name}", help=col.description)
                if pick != NONE:
                    mapping[pick] = col.name
                    continue
                value = cell.text_input(f"constant value for {col.name}", key=f"const_{where}_{col.name}",
                                        placeholder="or a constant value", label_visibility="collapsed",
                                        help=f"The same {col.name} for every row (the file has no such column).")
                if value.strip():
                    constants[col.name] = value.strip()
        c_tz, c_from, c_to = st.columns([2, 1, 1])
        tz = c_tz.text_input("Time zone of timestamps without an offset", "UTC", key=f"tz_{up.file_id}",
                             help="Local times the clocks skip are moved forward by the gap; local times they "
                                  "repeat are read as the earlier instant. Both are counted in the notes.")
        latest = plausible_dates()[1]
        valid_from = c_from.date_input("Earliest plausible date", EARLIEST, key=f"from_{up.file_id}",
                                       min_value=EARLIEST.replace(year=1900), max_value=latest.replace(year=latest.year + 50),
                                       help="Timestamps before it are rejected with their row.")
        valid_to = c_to.date_input("Latest plausible date", latest, key=f"to_{up.file_id}",
                                   min_value=EARLIEST.replace(year=1900), max_value=latest.replace(year=latest.year + 50),
                                   help="Timestamps after it are rejected (default: a year after today).")
        key = (up.file_id, src.sheet, src.delimiter, kind, tuple(sorted(mapping.items())),
               tuple(sorted(constants.items())), tz, valid_from, valid_to)
        val = st.session_state.get("import_val")
        if val is None or val[0] != key:
            if st.button("Check every row", type="primary", key="check"):
                bar = st.progress(0.0, text="Reading and checking every row…")
                src.progress = progress_callback(bar)
                try:
                    st.session_state["import_val"] = (key, src.validate(kind, mapping, timezone=tz, valid_from=valid_from,
                                                                         valid_to=valid_to, constants=constants))
                    st.rerun()
                except cx.CXError as e:
                    st.error(md_escape(e))
        else:
            v = val[1]
            m = st.columns(3)
            m[0].metric("Rows read", f"{v.rows_read:,}")
            m[1].metric("Accepted", f"{v.accepted:,}")
            m[2].metric("Rejected", f"{v.rejected:,}", help="Rows with at least one problem; listed below.")
            for w in v.warnings:
                st.info(md_escape(w))
            if v.rejected:
                st.markdown(f"**Problems** ({v.error_count:,}; row numbers as a spreadsheet shows them)")
                st.dataframe(v.errors.head(1000), hide_index=True, key="import_errors")
                st.download_button("Download the problem report (CSV)", to_csv_bytes(v.errors),
                                   file_name=f"{src.file_name}.problems.csv", mime="text/csv",
                                   on_click="ignore")
            st.markdown("**After mapping** (first accepted rows" + (", with the constants" if v.constants else "")
                        + (" and the attributes kept" if v.attributes else "") + ")")
            st.dataframe(v.preview(10), hide_index=True)
            names = store.dataset_names()
            new = "(a new dataset)"
            target = st.selectbox("Import into", [new] + names, key="import_target")
            if target == new:
                target = st.text_input("Name of the new dataset", Path(src.file_name).stem.split(".")[0],
                                       key="import_newname")
                mode = "replace"
            else:
                mode = st.radio("If the dataset already has this table", ["replace", "append"],
                                horizontal=True, key="import_mode")
            dup = v.duplicate_of(target, mode) if target in names else None
            if dup:
                st.warning(md_escape(f"{dup} Import it again only if these are new rows."))
            b = st.columns([1, 1, 4])
            label = "Import it again anyway" if dup else f"Import {v.accepted:,} rows"
            if b[0].button(label, type="primary", disabled=not v.accepted, key="do_import_again" if dup else "do_import"):
                bar = st.progress(0.0, text="Importing (one transaction)…")
                src.progress = progress_callback(bar)
                try:
                    rep = v.commit(target, mode=mode, allow_duplicate=bool(dup))
                    st.session_state["import_done"] = rep.summary()
                    switch_dataset(target)
                    _forget_source()
                    st.rerun()
                except cx.CXError as e:
                    st.error(md_escape(e))
            if b[1].button("Cancel", key="cancel_import"):
                _forget_source()
                st.rerun()
    if st.session_state.get("import_done"):
        st.success(md_escape(st.session_state.pop("import_done")))
    if up is None:
        st.markdown("**What to upload.** Any column names work: you map them to the contract after the "
                    "upload. Only *interactions* is required; customers and feedback add breakdowns and "
                    "scores. Templates show the columns with one example row.")
        cols = st.columns(3)
        for c, (name, spec) in zip(cols, schema.KINDS.items()):
            with c.container(border=True):
                st.markdown(f"**{name}**")
                st.caption(spec.description)
                st.markdown("Required: " + ", ".join(f"`{r}`" for r in spec.required))
                st.caption("Optional: " + ", ".join(c for c in spec.column_names if c not in spec.required))
                st.download_button(f"Template: {name}.csv", schema.template_csv(name), file_name=f"{name}.csv",
                                   mime="text/csv", key=f"tpl_{name}", on_click="ignore")

with tab_datasets:
    ds = store.datasets()
    st.dataframe(ds.select("name", "version", "interactions", "customers", "feedback", "updated_at"),
                 hide_index=True, key="datasets_table")
    names = store.dataset_names()
    if names:
        c1, c2 = st.columns(2)
        with c1.form("rename"):
            old = st.selectbox("Rename", names)
            new_name = st.text_input("New name")
            if st.form_submit_button("Rename"):
                try:
                    store.rename_dataset(old, new_name)
                    if st.session_state.get("dataset") == old:
                        switch_dataset(new_name.strip())
                    st.rerun()
                except cx.CXError as e:
                    st.error(md_escape(e))
        with c2.form("delete"):
            victim = st.selectbox("Delete", names)
            sure = st.checkbox("Yes, delete it and all its tables")
            if st.form_submit_button("Delete", type="primary"):
                if not sure:
                    st.warning("Tick the box to confirm.")
                else:
                    store.delete_dataset(victim)
                    st.session_state.pop("dataset", None)
                    st.rerun()
    if SAMPLE_DIR.exists() and st.button("Reload the demo dataset", key="reload_demo"):
        with st.spinner("Loading the demo dataset…"):
            if store.has_dataset("demo"):
                store.delete_dataset("demo")
            import_folder(store, SAMPLE_DIR, "demo")
        switch_dataset("demo")
        st.rerun()
    if st.session_state.get("dataset"):
        st.markdown("**Import history of this dataset** (newest first; several files append into one table, and "
                    "the same file appended twice is noticed by its content hash)")
        st.dataframe(store.imports(st.session_state["dataset"]), hide_index=True, key="import_history")

with tab_health:
    ds_name = st.session_state.get("dataset")
    if not ds_name:
        st.info("No dataset yet: import a file, or reload the demo dataset under Datasets.")
    else:
        cap = call(coverage.capabilities)
        ok = int(cap["available"].sum())
        st.markdown(f"**What {md_escape(ds_name)} supports:** {ok} of {cap.height} figures. A figure the data "
                    "cannot give is not shown as a zero: its page says what it needs, and so does this list.")
        st.dataframe(cap.with_columns(status=pl.when(pl.col("available")).then(pl.lit("✓ available"))
                                      .otherwise(pl.lit("needs data")), needs=pl.col("needs").fill_null(""))
                     .select("area", "figure", "status", "needs"), hide_index=True, key="health_capabilities",
                     height=36 * (cap.height + 1) + 2,
                     column_config={"needs": st.column_config.TextColumn("what to add to unlock it", width="large")})
        cov = call(coverage.columns)
        st.markdown("**Coverage of each column**: the share of rows that have a value. Attributes are the "
                    "file's own columns outside the contract, kept as they came.")
        st.dataframe(cov, hide_index=True, key="health_columns", column_config={
            "share": st.column_config.ProgressColumn("share filled", format="percent", min_value=0, max_value=1),
            "rows": st.column_config.NumberColumn(format="localized"),
            "filled": st.column_config.NumberColumn(format="localized")})

with tab_stages:
    ds_name = st.session_state.get("dataset")
    if not ds_name:
        st.info("No dataset yet.")
        st.stop()
    st.markdown("#### Stages")
    st.markdown("Touchpoints without a stage column get their stage from these rules: the first rule whose "
                "keyword is a word of the touchpoint name wins (`pricing` matches `pricing_page`). "
                "Stages given in a file are never changed.")
    rules = pl.DataFrame(store.stage_rules(ds_name), schema=["keyword", "stage"], orient="row")
    edited = st.data_editor(rules, num_rows="dynamic", hide_index=True, key=f"rules_{ds_name}",
                            column_config={"stage": st.column_config.SelectboxColumn(options=list(schema.STAGES),
                                                                                     required=True)})
    if st.button("Save the rules and re-derive stages", key="save_rules"):
        try:
            rows = [(k, s) for k, s in edited.iter_rows() if k and s]
            n = store.set_stage_rules(rows, ds_name)
            st.success(f"Saved {len(rows)} rules; {n:,} rows re-derived.")
        except cx.CXError as e:
            st.error(md_escape(e))
    sm = store.stage_map(ds_name)
    unmapped = sm.filter(pl.col("stage").is_null())
    if unmapped.height:
        st.warning(f"{unmapped.height} touchpoint(s) ({unmapped['rows'].sum():,} rows) match no rule: add a rule.")
    st.dataframe(sm, hide_index=True, key="stage_map", placeholder="–",
                 column_config={"stage": st.column_config.TextColumn(help="– : no stage (no rule matches)"),
                                "from_rules": st.column_config.CheckboxColumn("stage from the rules"),
                                "rows": st.column_config.NumberColumn(format="localized")})

    st.markdown("#### Purchases")
    st.markdown("A row is a purchase (a transaction) when its amount is > 0, or when its touchpoint "
                "is a purchase touchpoint, whatever its amount (a $0 order is an order). A touchpoint is one when "
                "a keyword ticked *is a purchase* is a word of its name and no unticked keyword is (`cart` keeps "
                "`cart_add` from being a purchase). Reaching the purchase *stage* is not buying.")
    prules = pl.DataFrame(store.purchase_rules(ds_name), schema=[("keyword", pl.Utf8), ("purchase", pl.Boolean)],
                          orient="row")
    pedited = st.data_editor(prules, num_rows="dynamic", hide_index=True, key=f"purchase_rules_{ds_name}",
                             column_config={"purchase": st.column_config.CheckboxColumn(
                                 "is a purchase", help="Ticked: touchpoints with this word are purchases. Unticked: "
                                                       "they never are, even if another keyword matches.",
                                 default=True)})
    if st.button("Save the purchase rules", key="save_purchase_rules"):
        try:
            prows = [(k, bool(p)) for k, p in pedited.iter_rows() if k]
            tps = store.set_purchase_rules(prows, ds_name)
            version_changed(ds_name)
            st.success(f"Saved {len(prows)} rules; purchase touchpoints now: "
                       + (md_escape(", ".join(tps)) if tps else "none (amounts > 0 alone decide)") + ".")
        except cx.CXError as e:
            st.error(md_escape(e))
    st.dataframe(call(coverage.purchase_map), hide_index=True, key="purchase_map", placeholder="–",
                 column_config={"purchase_touchpoint": st.column_config.CheckboxColumn("purchase touchpoint"),
                                "with_amount": st.column_config.NumberColumn("rows with an amount > 0",
                                                                             format="localized"),
                                "rows": st.column_config.NumberColumn(format="localized"),
                                "purchases": st.column_config.NumberColumn(format="localized")})
