"""Journey story: a guided walk through the customer loop for a workshop room, one real chart and
one sentence per step, forward and back (the step is in the URL: ?step=3)."""
import streamlit as st

from cx import story
from ui import call, chart, md_escape, page_frame, page_link, presenting

PRESENT_DOT_HEIGHT = 250  # px: the loop graph, full width, fits a 1280x720 screen under the sentence

f = page_frame("Journey story", "Seven steps through the customer loop, each a chart from this dataset with the "
               "sentence it supports. Use the buttons (or the presentation mode in the sidebar) to tell it.")
titles = story.titles()
n = len(titles)
# the step lives in the URL, so "?step=4" opens the fourth step and a copied link keeps it
# the URL holds the value as shown, so the options are the step numbers themselves (?step=3)
choice = st.segmented_control("Step", options=[str(i) for i in range(1, n + 1)], key="step", bind="query-params",
                              default="1", label_visibility="collapsed", width="stretch")
number = int(choice or 1)


def go(to: int) -> None:
    st.session_state["step"] = str(to)


# the navigation first, so it is always on the screen (a projector at 1280×720 too); arrow keys work
back, explore, fwd = st.columns([1, 3, 1], vertical_alignment="center")
back.button("Back", icon=":material/arrow_back:", disabled=number <= 1, on_click=go, args=(number - 1,),
            key="story_back", width="stretch", shortcut="Left", help="Previous step (← key)")
fwd.button("Next", icon=":material/arrow_forward:", disabled=number >= n, on_click=go, args=(number + 1,),
           key="story_next", width="stretch", shortcut="Right", help="Next step (→ key)")
if not presenting():
    st.caption("Steps: " + " · ".join(f"**{i}\\. {t}**" if str(i) == choice else f"{i}\\. {t}"
                                      for i, t in enumerate(titles, 1)))
s = call(story.step, number, filters=f)
if s.page:
    with explore:
        page_link(f"views/{s.page}.py", label="Explore this in detail", icon=":material/open_in_new:")
# on a projector the sentence and its chart sit side by side: one idea, on one 16:9 screen
side_by_side = presenting() and s.figure is not None  # the wide loop graph keeps the full width
words, picture = st.columns([2, 3], gap="large") if side_by_side else (st.container(), st.container())
with words:
    st.subheader(f"{s.number}. {s.title}")
    st.markdown(f"#### {md_escape(s.sentence)}")
with picture:
    if s.figure is not None:
        chart(s.figure, key=f"story_{s.number}")
    elif s.dot:
        st.graphviz_chart(s.dot, width="stretch", height=PRESENT_DOT_HEIGHT if presenting() else "content")
