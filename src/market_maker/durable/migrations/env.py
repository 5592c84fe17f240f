"""Alembic environment: migrations run on the connection ``migrate.upgrade`` passes in."""

from alembic import context

from market_maker.durable.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
