"""The functions that are not HTTP: the scheduled jobs and the operators' console function.

``handlers.py`` holds every Lambda's entry point (the Chalice blueprint); each job's work is a module of its own here,
imported by its first event.
"""
