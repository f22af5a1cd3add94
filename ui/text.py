"""Text from data made safe for Streamlit's Markdown (every label, caption, alert and metric)."""
from __future__ import annotations

import re


def md_escape(text) -> str:
    """User text made safe for st.markdown: Markdown and HTML characters are escaped, so a file name
    or a comment shows as written (no links, images or formatting it did not ask for)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~:$])", r"\\\1", str(text)).replace("\n", " ")
