"""Alembic environment: online migrations against the URL set by ``gis_service.db.migrate``."""

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool, text

from gis_service.db.migrate import include_object
from gis_service.db.models import Base
from gis_service.db.roles import apply_grants

config = context.config


def run_migrations_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_object=include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if connection.in_transaction():  # nothing to migrate: reading the version autobegan one
            connection.commit()
        with connection.begin():  # tables added after 0011 get the roles' grants too
            if (connection.execute(text("SELECT to_regclass('alembic_version')")).scalar() and
                    int(connection.execute(text("SELECT version_num FROM alembic_version")).scalar() or 0) >= 11):
                apply_grants(connection)
    engine.dispose()


run_migrations_online()
