"""SQL: read-only queries for analysts, checked and run in the same sandbox as store.query (cx.sqlbox)."""
import streamlit as st

import cx
from cx import sqlbox
from cx.export import to_csv_bytes
from ui import call, current_dataset, duckdb_only, get_store, md_escape, page_frame
from ui import table as data_table

URL_MAX = 500  # a query shorter than this travels in the link (?sql=...), so a copied link re-runs it

page_frame("SQL", "Ask the data anything with one read-only SELECT (or WITH / EXPLAIN). Queries run in a separate, "
           "locked-down process on a read-only copy of the dataset: they cannot change data, read files or "
           f"change settings, and are stopped after {sqlbox.DEFAULT_TIMEOUT_S:g} seconds or "
           f"{sqlbox.DEFAULT_MAX_MEMORY_MB:,.0f} MB. The sidebar's filters do not apply here: filter in the query.")
if duckdb_only("The SQL box"):
    st.stop()
store = get_store()
ds_name = current_dataset()
ds = store.dataset(ds_name)
ss = st.session_state

left, right = st.columns([1, 2.2], gap="large")

with left:
    st.markdown("**Tables of the dataset chosen in the sidebar**")  # names are data: never in markdown
    st.caption(f"Write `FROM interactions`; the full name is `{ds.schema}.interactions` (an id, not the "
               "name). Only this dataset can be read here (choose another in the sidebar); `cx_meta.datasets`, "
               "`imports`, `stage_rules` and `segments` hold its rows. The copy is made on the first query "
               "after each change of the dataset.")
    sb = call(sqlbox.schema_browser)
    order = ["interactions", "customers", "feedback"]
    tables = sorted(sb["table"].unique().to_list(), key=lambda t: (order.index(t) if t in order else 9, t))
    for table in tables:
        cols = sb.filter(sb["table"] == table).select("column", "type")
        with st.expander(f"{table} · {cols.height} columns", expanded=table == "interactions"):
            st.dataframe(cols, hide_index=True, key=f"sql_cols_{table}", height=min(36 + 35 * cols.height, 420))
    examples = sqlbox.examples(store, ds_name)
    pick = st.selectbox("Example queries", list(examples), key="sql_example",
                        help="Pick one and press “Use this example” to copy it into the editor.")
    st.code(examples[pick], language="sql")
    if st.button("Use this example", key="sql_use_example"):
        ss["sql_default"] = ss["sql_ran"] = examples[pick]
        ss["sql_editor"] = ss.get("sql_editor", 0) + 1  # a new editor widget starts from the example
        st.rerun()

with right:
    if "sql_default" not in ss:  # first visit: the query of a shared link, else an example, and its result
        shared = st.query_params.get("sql")
        first = shared if shared and len(shared) < URL_MAX else next(iter(examples.values()))
        ss["sql_default"] = ss["sql_ran"] = first
    sql = st.text_area("Query", ss["sql_default"], key=f"sql_text_{ss.get('sql_editor', 0)}", height=220,
                       help="One statement: SELECT, WITH … SELECT or EXPLAIN. Unqualified table names are the "
                            "tables of the dataset chosen in the sidebar.")
    c1, c2, _ = st.columns([1, 1.4, 2])
    max_rows = c2.number_input("Rows shown", 1, sqlbox.DEFAULT_MAX_ROWS, sqlbox.DEFAULT_MAX_ROWS, step=1000,
                               key="sql_max_rows", help="At most 10,000 rows are shown; the download below "
                                                        "can take up to 1,000,000.")
    if c1.button("Run", type="primary", key="sql_run"):
        ss["sql_ran"] = sql
        ss.pop("sql_full", None)
    ran = ss.get("sql_ran")
    if ran and len(ran) < URL_MAX:
        if st.query_params.get("sql") != ran:
            st.query_params["sql"] = ran
    elif "sql" in st.query_params:
        del st.query_params["sql"]
    if ran:
        try:
            res = call(sqlbox.run, ran, max_rows=int(max_rows))
        except cx.QueryRejected as e:
            st.error(f"Not allowed: {md_escape(e)}")
            st.stop()
        except cx.QueryError as e:
            st.warning(md_escape(e))
            st.stop()
        df = res.frame
        if res.statement == "EXPLAIN" and "explain_value" in df.columns:
            st.code("\n".join(df["explain_value"].to_list()), language=None)
        else:
            more = f" (the first {df.height:,}; the query returns more)" if res.truncated else ""
            st.caption(f"{df.height:,} rows{more} · {df.width} columns · {res.seconds:.2f} s")
            data_table(df, "sql_result", title="Query result", file_name="query.csv", machine_csv=True)
            d2 = st.container()
            if res.truncated:
                full = ss.get("sql_full")
                if full is None or full[0] != (ran, ds_name):
                    if d2.button(f"Prepare a download of up to {sqlbox.DOWNLOAD_MAX_ROWS:,} rows", key="sql_prep"):
                        try:
                            with st.spinner("Running the query for the download…"):
                                big = sqlbox.run(store, ran, max_rows=sqlbox.DOWNLOAD_MAX_ROWS, dataset=ds_name)
                            ss["sql_full"] = ((ran, ds_name), to_csv_bytes(big.frame), big.frame.height,
                                              big.truncated)
                            st.rerun()
                        except cx.CXError as e:
                            st.warning(md_escape(e))
                else:
                    _, data, n, cut = full
                    d2.download_button(f"Download {n:,} rows (CSV)", data, file_name="query_full.csv",
                                       mime="text/csv", key="sql_dl_full", on_click="ignore",
                                       help="Capped at 1,000,000 rows." if cut else None)
    else:
        st.info("Write a query (or pick an example) and press **Run**.")
