"""The core of the ПФДО functions: domain rules, storage and use cases, free of any web framework."""
