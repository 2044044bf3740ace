"""Chat channels behind one contract."""
