"""Comment themes of the demo feedback: what each theme says (phrases, keywords), how a comment is
worded (openers and closers per polarity), and which themes a feedback context complains or
praises about. Used by :mod:`cx.sample.feedback`; themes, keywords and phrases go to truth.json.
"""
from __future__ import annotations

# phrases start lower case; a comment is opener + phrase(s) + "." + closer
THEMES: dict[str, dict] = {
    "late_delivery": dict(complaint=True, keywords=["late", "delayed", "damaged", "never arrived", "courier"],
                          phrases=["my order arrived late", "the delivery was late again",
                                   "the parcel was delayed by a week", "the package came late and damaged",
                                   "the courier was days late", "delivery was late and nobody told me",
                                   "my parcel was delayed twice", "the box arrived damaged and late"]),
    "billing_error": dict(complaint=True,
                          keywords=["charged twice", "wrong charge", "overcharged", "invoice", "refund"],
                          phrases=["I was charged twice", "there was a wrong charge on my invoice",
                                   "I got overcharged and the refund took weeks", "the invoice was wrong",
                                   "they billed me the wrong amount", "I am still waiting for my refund"]),
    "app_crash": dict(complaint=True, keywords=["crash", "outage", "log in", "down", "error"],
                      phrases=["the app keeps crashing", "I could not log in during the outage",
                               "the app crashed at checkout", "the website was down again",
                               "I kept getting an error in the app", "the app froze and logged me out"]),
    "long_wait_effort": dict(complaint=True, keywords=["call three times", "on hold", "transferred", "repeat myself",
                                                       "confusing", "forever"],
                             phrases=["I had to call three times", "I was on hold for 40 minutes",
                                      "I was transferred twice", "I had to repeat myself to every agent",
                                      "the process was confusing", "it took forever to get an answer",
                                      "I was on hold for 25 minutes and then transferred",
                                      "I had to explain everything again"]),
    "rude_staff": dict(complaint=True, keywords=["rude", "unhelpful", "dismissive", "did not care"],
                       phrases=["the staff were rude", "the agent was rude and unhelpful",
                                "nobody seemed to care", "the person I spoke to was dismissive",
                                "the employee was unfriendly", "they did not care about my problem"]),
    "fast_delivery": dict(complaint=False, keywords=["fast", "quick", "early", "on time"],
                          phrases=["delivery was fast", "my order arrived a day early", "super fast delivery",
                                   "the parcel came quick and well packed", "fast shipping as always",
                                   "it arrived on time and in perfect condition"]),
    "helpful_staff": dict(complaint=False, keywords=["helpful", "friendly", "knowledgeable", "patient"],
                          phrases=["the staff were really helpful", "the agent was friendly and solved it",
                                   "a knowledgeable and patient team", "everyone was helpful and kind",
                                   "the person on the phone was very helpful", "friendly service every time"]),
    "great_value": dict(complaint=False, keywords=["value", "price", "deal", "worth"],
                        phrases=["great value for money", "the prices are fair", "I got a great deal",
                                 "good quality for the price", "worth every penny", "the discounts are great"]),
    "easy_app": dict(complaint=False, keywords=["easy", "smooth", "intuitive", "simple"],
                     phrases=["the app is easy to use", "ordering was smooth and simple", "checkout was easy",
                              "the website is intuitive", "everything was simple and clear",
                              "a smooth experience from start to finish"]),
}
THEME_NAMES = tuple(THEMES)
EFFORT_PHRASES = ["call three times", "on hold for", "transferred", "repeat myself", "confusing",
                  "forever", "explain everything again"]
OPENERS = {
    "neg": ["", "", "Very disappointed, ", "Not happy: ", "Honestly, ", "Frustrating, ", "Unacceptable, "],
    "pos": ["", "", "Really happy, ", "Great experience, ", "Honestly, ", "Love it, "],
    "mix": ["", "Mostly fine, ", "Okay overall, ", "Not bad, "],
}
CLOSERS = {
    "neg": ["", "", " Not good enough.", " Please fix this.", " I am thinking of leaving.", " Never again.",
            " Very poor service."],
    "pos": ["", "", " Thank you!", " Will order again.", " Keep it up.", " Highly recommend."],
    "mix": ["", "", " Could be better.", " Still a customer for now."],
}
# feedback contexts -> theme probabilities
CONTEXTS = ("delivery", "support", "billing", "order", "store", "relationship")
NEG_THEME_P = {
    "delivery": {"late_delivery": 0.85, "rude_staff": 0.15},
    "support": {"long_wait_effort": 0.65, "rude_staff": 0.25, "app_crash": 0.1},
    "billing": {"billing_error": 0.7, "long_wait_effort": 0.2, "rude_staff": 0.1},
    "order": {"app_crash": 0.4, "long_wait_effort": 0.3, "billing_error": 0.3},
    "store": {"rude_staff": 0.5, "long_wait_effort": 0.5},
    "relationship": {"late_delivery": 0.35, "billing_error": 0.2, "app_crash": 0.15, "long_wait_effort": 0.2,
                     "rude_staff": 0.1},
}
POS_THEME_P = {
    "delivery": {"fast_delivery": 0.9, "helpful_staff": 0.1},
    "support": {"helpful_staff": 0.85, "easy_app": 0.15},
    "billing": {"helpful_staff": 0.85, "easy_app": 0.15},
    "order": {"easy_app": 0.6, "great_value": 0.4},
    "store": {"helpful_staff": 0.6, "great_value": 0.4},
    "relationship": {"great_value": 0.35, "easy_app": 0.25, "helpful_staff": 0.2, "fast_delivery": 0.2},
}

