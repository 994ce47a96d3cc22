"""Use cases: each takes the context, the caller and plain values, and returns plain data."""
