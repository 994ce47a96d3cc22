"""Benchmarks of the money core: DynamoDB round trips per operation and top-up throughput (``make bench``).

They print figures and write them to bench/results/; nothing here asserts on time.
"""
