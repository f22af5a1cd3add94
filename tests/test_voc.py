"""Voice of the customer: sentiment stored at import, effort language, themes cached per version,
and the planted effects of the demo data (sentiment follows scores, complaint themes, effort)."""
import json

import numpy as np
import polars as pl
import pytest

import cx
from cx import voc
from tests.conftest import ROOT, copy_demo

FEEDBACK = """customer_id,timestamp,metric,score,comment,touchpoint,channel,solicited
a,2025-01-10T10:00:00Z,csat,5,The staff were wonderful and very helpful!,support_call,phone,true
b,2025-01-11T10:00:00Z,csat,1,Terrible service. I hate this awful company.,support_call,phone,true
c,2025-01-12T10:00:00Z,nps,2,I had to call three times and was on hold for ages.,support_call,phone,true
d,2025-01-13T10:00:00Z,rating,4,,order_placed,web,false
e,2025-02-01T10:00:00Z,ces,7,Checkout was easy.,order_placed,web,false
f,2025-02-02T10:00:00Z,custom_q,3,The holdover period was fine.,order_placed,web,false
"""

EVENTS = """customer_id,timestamp,touchpoint,stage,channel
a,2025-01-09T10:00:00Z,support_call,use,phone
a,2025-01-01T10:00:00Z,support_call,evaluate,phone
b,2025-01-12T10:00:00Z,support_call,evaluate,phone
c,2025-01-11T10:00:00Z,support_call,use,phone
z,2025-01-11T10:00:00Z,order_placed,purchase,web
"""


def _fb(store, dataset="t"):
    ds = store.dataset(dataset)
    return store.con.sql(f"SELECT customer_id, comment, sentiment FROM {ds.schema}.feedback ORDER BY _seq").pl()


# ------------------------------------------------------------------------------- import hook
def test_sentiment_is_stored_at_import(store, write):
    store.import_file(write("feedback.csv", FEEDBACK), kind="feedback", dataset="t")
    df = _fb(store)
    s = dict(zip(df["customer_id"], df["sentiment"]))
    assert s["a"] > 0.5 and s["b"] < -0.5  # VADER compound of the whole comment
    assert s["d"] is None  # no comment, no score
    assert s["a"] == pytest.approx(float(voc.vader_scores(["The staff were wonderful and very helpful!"])[0]))
    assert store.table_columns("feedback", "t")[-1] == "sentiment"
    assert store.version("t") == 1  # the hook is part of the import, not a second change


def test_append_scores_only_new_rows_and_replace_rescores(store, write):
    store.import_file(write("f1.csv", FEEDBACK), kind="feedback", dataset="t")
    more = "customer_id,timestamp,metric,score,comment\ng,2025-03-01T10:00:00Z,csat,5,Great value and fast delivery!\n"
    store.import_file(write("f2.csv", more), kind="feedback", dataset="t", mode="append")
    df = _fb(store)
    assert df.height == 7 and df.filter(pl.col("customer_id") == "g")["sentiment"][0] > 0.5
    assert df.filter(pl.col("customer_id") == "b")["sentiment"][0] < -0.5
    store.import_file(write("f3.csv", more), kind="feedback", dataset="t")  # replace
    assert _fb(store)["sentiment"].to_list() == df.filter(pl.col("customer_id") == "g")["sentiment"].to_list()


def test_feedback_without_comments_and_interactions_are_unaffected(store, write):
    store.import_file(write("i.csv", EVENTS), kind="interactions", dataset="t")
    cols = store.table_columns("interactions", "t")
    assert cols[-2:] == ["_seq", "_stage_derived"] and cols.count("sentiment") == 1  # no VoC column added
    nocomment = "customer_id,timestamp,metric,score\na,2025-01-10T10:00:00Z,csat,5\n"
    rep = store.import_file(write("f.csv", nocomment), kind="feedback", dataset="t")
    assert rep.imported and rep.accepted == 1
    assert _fb(store)["sentiment"].to_list() == [None]
    assert store.table_columns("interactions", "t") == cols
    with pytest.raises(cx.CXError, match="no comments"):
        voc.overview(store, dataset="t")


def test_no_feedback_table_is_a_clear_message(store, write):
    store.import_file(write("i.csv", EVENTS), kind="interactions", dataset="t")
    with pytest.raises(cx.CXError, match="feedback table"):
        voc.overview(store, dataset="t")


# ------------------------------------------------------------------------------- bounded scoring
def test_comments_within_the_bounds_score_exactly_as_vader():
    """The mean VADER compound of the sentences, each scored whole (as before the bound)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    a = SentimentIntensityAnalyzer()
    text = "The staff were wonderful. But the wait was terrible and I am not happy at all!"
    want = np.mean([a.polarity_scores(x)["compound"] for x in
                    ("The staff were wonderful", "But the wait was terrible and I am not happy at all")])
    assert voc.vader_scores([text])[0] == pytest.approx(want, abs=1e-12)


def test_a_long_sentence_is_scored_in_pieces_weighted_by_length():
    text = " ".join(["good"] * 300 + ["awful"] * 300 + ["fine"] * 100)  # 3,499 characters, no full stop
    parts = voc._chunks(text)
    assert "".join(parts) == text and max(len(p) for p in parts) <= voc.MAX_PIECE_CHARS and len(parts) == 4
    score = voc._analyzer().polarity_scores
    want = sum(score(p)["compound"] * len(p) for p in parts) / len(text)
    assert voc.vader_scores([text])[0] == pytest.approx(want, abs=1e-12)
    # a comment is read up to MAX_SCORED_CHARS: what follows does not change its score
    head = " ".join(["great"] * 2000)[:voc.MAX_SCORED_CHARS]
    assert voc.vader_scores([head + " terrible" * 5000])[0] == voc.vader_scores([head])[0]


def test_a_1mb_comment_imports_in_under_2_seconds(tmp_path):
    """The issue's bound (a timed test on purpose): one comment of 1 MB without a full stop took
    over 30 minutes in VADER inside the import's write transaction. Run in a child process so that
    the old behaviour fails at the timeout instead of hanging the suite."""
    import random
    import subprocess
    import sys

    rnd = random.Random(7)
    words = ("the service was great but delivery was slow and the staff never called back I love the product "
             "not happy at all terrible wait refund please").split()
    big = " ".join(rnd.choice(words) for _ in range(250_000))[:1_000_000]
    f = tmp_path / "fb.csv"
    f.write_text(f'customer_id,timestamp,metric,score,comment\na,2025-01-10,csat,5,Lovely staff!\n'
                 f'b,2025-01-11,csat,1,"{big}"\nc,2025-01-12,nps,9,Quick and easy.\n')
    code = ("import sys, cx\n"
            "s = cx.open(sys.argv[1])\n"
            "r = s.import_file(sys.argv[2], kind='feedback', dataset='t')\n"
            "n = s.con.sql(f\"SELECT max(length(comment)), count(sentiment) FROM {s.dataset('t').schema}.feedback\").fetchall()[0]\n"
            "print(r.seconds, n[0], n[1]); print('\\n'.join(r.warnings))\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "c.duckdb"), str(f)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    seconds, longest, scored = out.stdout.split("\n")[0].split()
    print(f"1 MB comment: imported in {float(seconds):.2f} s")
    assert float(seconds) < 2.0
    assert int(longest) == 1_000_000 and int(scored) == 3  # kept whole, and scored
    assert "1 comment longer than 10,000 characters" in out.stdout and "row 3" in out.stdout


# ------------------------------------------------------------------------------- metrics, exact
@pytest.fixture
def small(store, write):
    store.import_file(write("i.csv", EVENTS), kind="interactions", dataset="t")
    store.import_file(write("f.csv", FEEDBACK), kind="feedback", dataset="t")
    return store


def test_effort_language_whole_words(small):
    df = voc.comment_list(small, dataset="t").sort("customer_id")
    eff = dict(zip(df["customer_id"], df["effort"]))
    assert eff == {"a": False, "b": False, "c": True, "e": False, "f": False}  # 'holdover' is not 'on hold'
    summ = voc.effort_summary(small, dataset="t")
    counts = dict(zip(summ["pattern"], summ["comments"]))
    assert counts["on hold"] == 1 and counts["contacting again"] == 1 and counts["had to"] == 1
    assert counts["waiting"] == 1 and counts["confusing"] == 0  # 'for ages'


def test_overview_and_score_normalisation(small):
    o = voc.overview(small, dataset="t")
    assert o["comments"] == 5 and o["answers"] == 6 and o["comment_rate"] == pytest.approx(5 / 6)
    assert o["effort_share"] == pytest.approx(1 / 5)
    sv = voc.sentiment_vs_score(small, dataset="t")
    row = sv.filter(pl.col("metric") == "all").row(0, named=True)
    assert row["comments"] == 4  # the custom metric has no known scale: left out
    df = _fb(small).filter(pl.col("customer_id").is_in(["a", "b", "c", "e"]))
    s01 = {"a": 1.0, "b": 0.0, "c": 0.2, "e": 1.0}  # csat 1-5, nps 0-10, ces 1-7 (7 = easy)
    sent = dict(zip(df["customer_id"], df["sentiment"]))
    x = np.array([sent[k] for k in "abce"])
    y = np.array([s01[k] for k in "abce"])
    assert row["r"] == pytest.approx(np.corrcoef(x, y)[0, 1])
    bys = voc.sentiment_by_score(small, dataset="t")
    assert set(zip(bys["metric"], bys["score01"])) == {("csat", 1.0), ("csat", 0.0), ("nps", 0.2), ("ces", 1.0)}


def test_breakdowns_and_linked_stage(small):
    st = voc.sentiment_by(small, "stage", dataset="t")
    got = dict(zip(st["value"], st["comments"]))
    # a: latest support_call at or before the answer is 'use' (01-09); b: only interaction after -> dominant
    # stage of support_call (use: 2 of 3 rows... evaluate 2 vs use 2 -> any); c: use; e,f: order_placed -> purchase
    assert got["purchase"] == 2 and sum(got.values()) == 5
    src = voc.sentiment_by(small, "source", dataset="t")
    assert dict(zip(src["value"], src["comments"])) == {"solicited": 3, "unsolicited": 2}
    tr = voc.trend(small, "month", dataset="t")
    assert tr["comments"].sum() == 5 and tr["period"].n_unique() == 2


def test_filters_apply(small):
    f = cx.Filters(channels=("web",))
    assert voc.overview(small, filters=f, dataset="t")["comments"] == 2


# ------------------------------------------------------------------------------- demo data
TRUTH = json.loads((ROOT / "sample_data" / "truth.json").read_text())


@pytest.fixture(scope="module")
def demo(demo_db, tmp_path_factory):
    """A private copy of the demo database (the theme fit writes its cache into it)."""
    path = tmp_path_factory.mktemp("voc") / "demo.duckdb"
    copy_demo(demo_db, path)
    s = cx.open(path)
    yield s
    s.close()


def _planted(comment: str) -> str | None:
    low = comment.lower()
    found = [t for t, v in TRUTH["themes"].items() for p in v["phrases"] if p.lower() in low]
    neg = [t for t in found if TRUTH["themes"][t]["complaint"]]
    return neg[0] if neg else (found[0] if found else None)


@pytest.fixture(scope="module")
def labelled(demo):
    rows = voc.comments(demo, dataset="demo").select("_seq", "comment", "sentiment", "effort").to_polars()
    return rows.with_columns(pl.col("comment").map_elements(_planted, return_dtype=pl.Utf8).alias("planted"))


def test_demo_planted_comment_labels_match_truth(labelled):
    counts = dict(labelled.group_by("planted").len().iter_rows())
    assert counts == TRUTH["theme_counts"]


def test_demo_sentiment_follows_the_score(demo):
    sv = voc.sentiment_vs_score(demo, dataset="demo")
    r = dict(zip(sv["metric"], sv["r"]))
    assert r["all"] > 0.5
    for m in ("nps", "csat", "ces", "rating"):
        assert r[m] > 0.5, (m, r)


def test_demo_effort_flag_finds_the_effort_theme(labelled):
    truth = labelled["planted"] == TRUTH["effort_theme"]
    flag = labelled["effort"]
    tp = (flag & truth).sum()
    assert tp / truth.sum() > 0.95  # recall
    assert tp / flag.sum() > 0.85  # precision (the rest: 'still waiting for my refund', billing comments)


def test_demo_complaint_themes_appear_with_negative_sentiment(demo, labelled):
    fit = voc.fit_themes(demo, dataset="demo")
    assert 6 <= fit.k <= 24 and fit.k_scores.height > 3
    ds = demo.dataset("demo")
    m = demo.ibis.table("voc_mentions", database=ds.schema).to_polars()
    m = m.filter((pl.col("version") == ds.version) & (pl.col("requested") == 0))
    j = labelled.join(m.select("comment", "theme", pl.col("sentiment").alias("ms")), on="comment")
    per = j.group_by("theme").agg(pl.col("planted").mode().first().alias("dominant"), pl.col("ms").mean())
    negative = set(per.filter(pl.col("ms") < 0)["dominant"].to_list())
    # every planted complaint gets a negative theme of its own, app_crash (230 comments) included: it
    # shares the word 'app' with the praise theme easy_app, but complaints and praise are fitted apart
    complaints = [t for t, v in TRUTH["themes"].items() if v["complaint"]]
    assert len(complaints) == 5
    for th in complaints:
        assert th in negative, (th, per)
    positive = set(per.filter(pl.col("ms") > 0.2)["dominant"].to_list())
    assert {"helpful_staff", "easy_app", "great_value", "fast_delivery"} <= positive
    summ = voc.theme_summary(demo, dataset="demo")
    assert summ.height == fit.k and summ["comments"].sum() >= summ.height


def test_clauses_and_their_polarity():
    texts = pl.Series(["Checkout was easy, but the app keeps crashing. Thank you!",
                       "The app keeps crashing", "Terrible support, but the refund came back fast"])
    cl = voc.split_clauses(texts)
    assert cl["clause"].to_list() == ["Checkout was easy", "the app keeps crashing", "Thank you",
                                      "The app keeps crashing", "Terrible support", "the refund came back fast"]
    assert cl["contrast"].to_list() == [False, True, False, False, False, True]
    sent = pl.DataFrame({"clause": cl["clause"], "sentiment": voc.vader_scores(cl["clause"])})
    pol = dict(voc.clause_polarity(cl, sent).iter_rows())
    assert sent.filter(pl.col("clause") == "the app keeps crashing")["sentiment"][0] == 0  # VADER: no sentiment word
    assert pol["Checkout was easy"] == 1 and pol["the app keeps crashing"] == -1  # the 'but' rule
    assert pol["The app keeps crashing"] == 0  # alone: neutral (joins the theme it fits best)
    assert pol["Terrible support"] == -1 and pol["the refund came back fast"] == 1  # VADER 0: the rule again


def test_theme_fit_does_not_depend_on_the_order_of_the_comments(labelled):
    texts = labelled["comment"].unique().sort()
    a = voc.fit_themes_texts(texts, k=9)
    b = voc.fit_themes_texts(texts.sample(fraction=1.0, shuffle=True, seed=3), k=9)
    assert a[1].equals(b[1])
    assert a[2].sort("comment", "theme").equals(b[2].sort("comment", "theme"))


def test_themes_are_cached_per_version_and_labels_saved(demo):
    fit = voc.fit_themes(demo, dataset="demo")
    assert fit.mentions is None  # loaded from the database: no refit per view
    terms = fit.themes["terms"][0]
    voc.set_theme_label(demo, terms, "Waiting for an answer", dataset="demo")
    again = voc.fit_themes(demo, dataset="demo")
    assert again.themes["label"][0] == "Waiting for an answer"
    assert demo.version("demo") == fit.version  # labels do not invalidate the dataset's caches
    voc.set_theme_label(demo, terms, "", dataset="demo")
    assert voc.fit_themes(demo, dataset="demo").themes["label"][0] == voc._default_label(terms)
    ex = voc.comment_list(demo, theme=0, limit=5, dataset="demo")
    assert ex.height == 5 and ex["comment"].null_count() == 0


def test_user_chosen_number_of_themes(demo):
    fit = voc.fit_themes(demo, k=9, dataset="demo")
    assert fit.k == 9 and fit.themes.height == 9
    mat = voc.theme_sentiment(demo, k=9, dataset="demo")
    assert mat.height == 27
    assert mat.group_by("theme").agg(pl.col("share").sum())["share"].to_list() == pytest.approx([1.0] * 9)
    by = voc.themes_by(demo, "source", k=9, dataset="demo")
    assert set(by["value"]) == {"solicited", "unsolicited"}


def test_a_fit_stored_by_an_older_theme_method_is_refitted(demo_db, tmp_path):
    """A database whose stored themes predate the recorded model (an upgrade) shows the current
    method's themes: the old fit is refitted, and the tables gain the `model` column."""
    s = cx.open(copy_demo(demo_db, tmp_path / "old.duckdb"))
    try:
        fit = voc.fit_themes(s, k=9, dataset="demo")
        ds = s.dataset("demo").schema
        for t in ("voc_themes", "voc_mentions", "voc_k_scores"):  # as an older CX Loop left them
            s.con.sql(f"ALTER TABLE {ds}.{t} DROP COLUMN model")
        s.con.sql(f"UPDATE {ds}.voc_themes SET terms = 'stale, old, method'")
        voc._MEMORY.clear()
        again = voc.fit_themes(s, k=9, dataset="demo")
        assert again.themes["terms"].to_list() == fit.themes["terms"].to_list()  # refitted: no stale terms
        cols = s.con.sql(f"SELECT table_name FROM duckdb_columns() WHERE schema_name = '{ds}' "
                         "AND column_name = 'model' ORDER BY 1").fetchall()
        assert [c for (c,) in cols] == ["voc_k_scores", "voc_mentions", "voc_themes"]
        voc._MEMORY.clear()
        assert voc.fit_themes(s, k=9, dataset="demo").themes["terms"].to_list() == fit.themes["terms"].to_list()
    finally:
        s.close()
