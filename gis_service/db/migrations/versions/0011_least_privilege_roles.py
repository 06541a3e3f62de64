"""Least privilege: the roles ``gis_service_owner`` (owns the schema; migrations, analyses and job
workers), ``gis_service_web`` (the planning API: reads, writes only the planning tables) and
``gis_service_read`` (OGC: reads the published layer views only). ``gis-service serve`` connects
as them (``gis_service.db.roles``), never as a superuser. The migrations' environment applies the
grants again after every later upgrade, so new tables are covered.

Roles belong to the whole PostgreSQL cluster; the downgrade takes this database's objects and
privileges back from them and leaves the roles (other databases may use them).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 21:00:00
"""
from typing import Sequence, Union

from alembic import op

from gis_service.db.roles import OWNER, READ, WEB, apply_grants, create_roles

revision: str = '0011'
down_revision: Union[str, None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


HOUSEHOLD = "Households or buildings as points with their sanitation access ({})"


def upgrade() -> None:
    create_roles(op.get_bind())
    apply_grants(op.get_bind())
    op.create_table_comment("household", HOUSEHOLD.format("docs/domain.md §2"))  # the repository's own page


def downgrade() -> None:
    op.create_table_comment("household", HOUSEHOLD.format("DOMAIN.md 2"))
    op.execute(f"REASSIGN OWNED BY {OWNER} TO current_user")
    op.execute(f"DROP OWNED BY {OWNER}, {WEB}, {READ}")  # their privileges here; they own nothing now
