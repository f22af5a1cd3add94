from cx import schema


def test_contract_kinds_and_required_columns():
    assert list(schema.KINDS) == ["interactions", "customers", "feedback"]
    assert schema.INTERACTIONS.required == ["customer_id", "timestamp", "touchpoint"]
    assert schema.CUSTOMERS.required == ["customer_id"]
    assert schema.FEEDBACK.required == ["timestamp", "metric"]
    assert schema.STAGES == ("discover", "consider", "evaluate", "purchase", "use")


def test_suggest_mapping_from_synonyms():
    m = schema.suggest_mapping(["User ID", "event", "created_at", "Channel", "order value", "junk"], "interactions")
    assert m["User ID"] == "customer_id" and m["event"] == "touchpoint" and m["created_at"] == "timestamp"
    assert m["Channel"] == "channel" and "junk" not in m
    # an exact contract name beats a synonym for the same target
    m2 = schema.suggest_mapping(["user_id", "customer_id", "ts", "action"], "interactions")
    assert m2["customer_id"] == "customer_id" and "user_id" not in m2


def test_detect_kind():
    assert schema.detect_kind(["user_id", "event", "ts", "channel"]) == "interactions"
    assert schema.detect_kind(["client", "persona", "region", "tier"]) == "customers"
    assert schema.detect_kind(["user", "date", "survey", "rating", "text"]) == "feedback"


def test_derive_stage_matches_whole_words():
    cases = {"add_to_cart": "purchase", "address_change": None, "social_ad": "discover",
             "Pricing Page": "evaluate", "reviews_read": "evaluate", "support_reply": "use",
             "order_placed": "purchase", "homepage": "consider", "delivery": "use", "xyz": None}
    assert {k: schema.derive_stage(k) for k in cases} == cases
    assert all(s in schema.STAGES for _, s in schema.DEFAULT_STAGE_KEYWORDS)


def test_templates_import_cleanly(store, write):
    for kind in schema.KINDS:
        rep = store.import_file(write(f"{kind}.csv", schema.template_csv(kind)), kind=kind, dataset="tpl")
        assert (rep.kind, rep.accepted, rep.rejected) == (kind, 1, 0)
        assert rep.mapping == {c: c for c in schema.KINDS[kind].column_names}


def test_purchase_touchpoints_by_keyword():
    """A purchase touchpoint is one whose name holds a purchase word and no "not a purchase" word:
    orders and purchases are, carts, checkout steps, refunds and cancellations are not."""
    from cx.schema import purchase_touchpoints

    names = ["order_placed", "partner_order", "store_purchase", "purchase", "checkout_complete", "Payment Done",
             "subscription_renewed", "cart_add", "checkout", "payment_details", "refund_issued",
             "order_cancelled", "order_page", "return_request", "support_call", None]
    assert purchase_touchpoints(names) == ["Payment Done", "checkout_complete", "order_placed", "partner_order",
                                           "purchase", "store_purchase", "subscription_renewed"]
    assert purchase_touchpoints(["sign_up", "trial_start"], [("sign_up", True)]) == ["sign_up"]
    assert purchase_touchpoints(["order_placed"], [("order", True), ("placed", False)]) == []
