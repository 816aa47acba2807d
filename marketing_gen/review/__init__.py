"""Review: the approval workflow (approve / reject / edit, audited), reviewer accounts and sessions, and the
training rows reviewers' decisions become. The web page that drives it lives in ``api/review_pages.py``."""
