"""Publish targets behind one small interface; formatting is separate from transmitting."""
