"""Reporting: what people look at, written from a built warehouse."""
