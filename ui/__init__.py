"""Streamlit-side helpers shared by app.py and the pages (the cx package never imports streamlit)."""
