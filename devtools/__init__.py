"""Local tooling for `make run`, `make test` and bench/: the local engine, the demo seed. Never deployed."""
