"""Fake external services on 127.0.0.1 speaking the real wire formats, for the real client libraries."""
