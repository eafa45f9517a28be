"""Alembic environment: runs the migrations on the connection grader.service.db.upgrade passes in,
or on `sqlalchemy.url` when run with the alembic command line."""
from alembic import context
from sqlalchemy import create_engine

from grader.service.db import Base, normalise_url

config = context.config
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(normalise_url(config.get_main_option("sqlalchemy.url")))
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
