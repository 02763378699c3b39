"""Helpers shared by the tests of every level: a Deliverer run, a delivery replica process,
test data for /divergence."""
