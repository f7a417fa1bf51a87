"""Notifications: an outbox written with the incident changes it reports, and the channels that deliver it."""
