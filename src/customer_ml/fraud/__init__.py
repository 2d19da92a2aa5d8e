"""Fraud: scoring transactions and customers, with reasons, and the flagging threshold."""
