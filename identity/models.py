"""Persons, consents and the access log arrive with the identity issue."""
