"""Infrastructure as code for AWS, rendered from the same definitions the code uses."""
