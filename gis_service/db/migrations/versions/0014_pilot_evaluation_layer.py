"""The OGC collection ``pilot_evaluation``: the pilot's operation log per village and month
(attempts, emptyings, m3 pumped and received at the IPLT, the share received, complaints), on the
village's boundary, for QGIS and the web map.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 00:15:00
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0014'
down_revision: Union[str, None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

VIEW = """
    SELECT p.id || ':' || e.village_code || ':' || to_char(date_trunc('month', e.event_date), 'YYYY-MM') AS id,
           p.name AS pilot, e.village_code, a.name AS village, date_trunc('month', e.event_date)::date AS month,
           count(*) AS attempts, count(*) FILTER (WHERE e.status = 'done') AS emptyings,
           round(coalesce(sum(e.pumped_m3) FILTER (WHERE e.status = 'done'), 0)::numeric, 3) AS pumped_m3,
           round(coalesce(sum(e.delivered_m3) FILTER (WHERE e.status = 'done'), 0)::numeric, 3) AS delivered_m3,
           round((coalesce(sum(e.delivered_m3) FILTER (WHERE e.status = 'done'), 0)
                  / NULLIF(sum(e.pumped_m3) FILTER (WHERE e.status = 'done'), 0))::numeric, 3) AS delivered_share,
           count(*) FILTER (WHERE e.status = 'done' AND e.complaint) AS complaints, a.geom
    FROM pilot_event e JOIN pilot p ON p.id = e.pilot_id JOIN admin_area a ON a.code = e.village_code
    GROUP BY p.id, e.village_code, a.code, date_trunc('month', e.event_date)"""


def upgrade() -> None:
    op.execute(f"CREATE VIEW layer_pilot_evaluation AS {VIEW}")
    op.execute("COMMENT ON VIEW layer_pilot_evaluation IS 'The pilot''s operation log per village and month: "
               "attempts, emptyings, m3 pumped and received at the IPLT (blank = 0), the share received, complaints'")


def downgrade() -> None:
    op.execute("DROP VIEW layer_pilot_evaluation")
