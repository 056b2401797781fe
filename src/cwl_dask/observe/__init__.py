"""What only observes a run: invocation records and the observer interface,
totals, progress, usage reports, the run report, the step graph, log locations.
Changes nothing about how a run goes.
"""
