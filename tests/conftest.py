"""The suite's fixtures are plugins in ``tests/support``; this file loads them and marks
each test by what it needs (see ``tests/support/markers.py``)."""

pytest_plugins = [
    "tests.support.fixtures",
    "tests.support.s3_server",
    "tests.support.markers",
]
