"""DynamoDB storage: the PynamoDB models (the one definition of every table) and every transaction."""
