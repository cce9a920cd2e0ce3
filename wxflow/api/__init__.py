"""Transports: parse, authenticate, call one service function, render."""
