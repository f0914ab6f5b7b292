"""Attendee gateway: a GraphQL API over Cliniko-shaped clinic attendee data."""
