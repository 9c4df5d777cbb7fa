"""Validation of every mart: Great Expectations suites declared beside each mart, run as asset checks."""
