"""Warta's own web pages: the browser playground and the desk board."""
