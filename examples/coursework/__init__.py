"""The assignment's experiments: shared pieces the example scripts build on."""
