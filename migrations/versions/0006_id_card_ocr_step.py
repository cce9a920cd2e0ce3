"""ID-card OCR step in the WeChat flow: the rule's switch, the flow's reading and card images

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 19:15:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id_card_ocr', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('flows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id_card_ocr', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('ocr_sealed', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('card_media', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('flows', schema=None) as batch_op:
        batch_op.drop_column('card_media')
        batch_op.drop_column('ocr_sealed')
        batch_op.drop_column('id_card_ocr')

    with op.batch_alter_table('rules', schema=None) as batch_op:
        batch_op.drop_column('id_card_ocr')
