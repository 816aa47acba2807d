"""Ads by theme, not by person: search and social ads personalize by audience.

``themes`` groups an audience into ad groups (the top category of each user's recommended items, or a segment
expression per group), ``keywords`` derives the group's keywords and the campaign's negatives, ``editor_csv``
writes the Google Ads Editor CSV, ``meta`` the Meta Custom Audience files and the Ads Manager bulk-import CSV,
and ``build`` runs it for a campaign with the copywriter (so every ad passes the same guardrails as every other
copy). Email, SMS and push stay per person (``campaigns``).
"""
