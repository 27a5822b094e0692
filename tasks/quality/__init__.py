"""The Great Expectations box: the suites of expectations/, thresholds, and the Data Docs built
from the warehouse's validation history.

May import the runtime modules and tasks/resources; every source's validation uses it.
"""
