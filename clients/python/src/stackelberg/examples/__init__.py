"""Runnable example firms (``python -m stackelberg.examples.br_follower``)."""
