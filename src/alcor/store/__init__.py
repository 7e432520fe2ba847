"""The durable store: SQLAlchemy Core over SQLite (embedded default) or PostgreSQL.

Every committed write bumps the global revision and appends change-log rows in the same
transaction (a transactional outbox): nothing is published that was not committed.
"""
