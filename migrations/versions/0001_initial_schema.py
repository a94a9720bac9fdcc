"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('liaison_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('created_at', models.base.AwareDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_liaison_group')),
    sa.UniqueConstraint('name', name=op.f('uq_liaison_group_name'))
    )
    op.create_table('chat_binding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('chat_id', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['liaison_group.id'], name=op.f('fk_chat_binding_group_id_liaison_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_binding')),
    sa.UniqueConstraint('platform', 'chat_id', name=op.f('uq_chat_binding_platform_chat_id'))
    )
    op.create_table('member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('mobile', sa.String(length=20), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('wecom_userid', sa.String(length=64), nullable=True),
    sa.Column('dingtalk_userid', sa.String(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.base.AwareDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.AwareDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['liaison_group.id'], name=op.f('fk_member_group_id_liaison_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member')),
    sa.UniqueConstraint('dingtalk_userid', name=op.f('uq_member_dingtalk_userid')),
    sa.UniqueConstraint('mobile', name=op.f('uq_member_mobile')),
    sa.UniqueConstraint('wecom_userid', name=op.f('uq_member_wecom_userid'))
    )
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_name'), ['name'], unique=False)

    op.create_table('inbound_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('msg_id', sa.String(length=128), nullable=False),
    sa.Column('chat_id', sa.String(length=128), nullable=True),
    sa.Column('sender_id', sa.String(length=128), nullable=False),
    sa.Column('sender_name', sa.String(length=64), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('is_group', sa.Boolean(), nullable=False),
    sa.Column('sent_at', models.base.AwareDateTime(timezone=True), nullable=False),
    sa.Column('received_at', models.base.AwareDateTime(timezone=True), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('intent', sa.String(length=16), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reply_text', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_inbound_message_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_message')),
    sa.UniqueConstraint('platform', 'msg_id', name=op.f('uq_inbound_message_platform_msg_id'))
    )
    op.create_table('outbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('target_kind', sa.String(length=16), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('platform', sa.String(length=16), nullable=True),
    sa.Column('address', sa.JSON(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('mentions', sa.JSON(), nullable=False),
    sa.Column('markdown', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.AwareDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', models.base.AwareDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', models.base.AwareDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('platform_answer', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['liaison_group.id'], name=op.f('fk_outbox_message_group_id_liaison_group')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_outbox_message_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message')),
    sa.UniqueConstraint('key', name=op.f('uq_outbox_message_key'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_message_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_status'), ['status'], unique=False)

    op.create_table('activity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('time', sa.Time(), nullable=True),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('announced_by_id', sa.Integer(), nullable=True),
    sa.Column('cancelled', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.base.AwareDateTime(timezone=True), nullable=False),
    sa.Column('source_message_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['announced_by_id'], ['member.id'], name=op.f('fk_activity_announced_by_id_member')),
    sa.ForeignKeyConstraint(['group_id'], ['liaison_group.id'], name=op.f('fk_activity_group_id_liaison_group')),
    sa.ForeignKeyConstraint(['source_message_id'], ['inbound_message.id'], name=op.f('fk_activity_source_message_id_inbound_message')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity'))
    )
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_date'), ['date'], unique=False)
        batch_op.create_index(batch_op.f('ix_activity_group_id'), ['group_id'], unique=False)

    op.create_table('record_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('table_name', sa.String(length=32), nullable=False),
    sa.Column('row_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=32), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', models.base.AwareDateTime(timezone=True), nullable=False),
    sa.Column('source_message_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['changed_by_id'], ['member.id'], name=op.f('fk_record_change_changed_by_id_member')),
    sa.ForeignKeyConstraint(['source_message_id'], ['inbound_message.id'], name=op.f('fk_record_change_source_message_id_inbound_message')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_change'))
    )
    op.create_table('submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('submitted_at', models.base.AwareDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('adopted_level', sa.String(length=32), nullable=True),
    sa.Column('adopted_at', models.base.AwareDateTime(timezone=True), nullable=True),
    sa.Column('instruction', sa.String(length=200), nullable=True),
    sa.Column('instructed_at', models.base.AwareDateTime(timezone=True), nullable=True),
    sa.Column('source_message_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['liaison_group.id'], name=op.f('fk_submission_group_id_liaison_group')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_submission_member_id_member')),
    sa.ForeignKeyConstraint(['source_message_id'], ['inbound_message.id'], name=op.f('fk_submission_source_message_id_inbound_message')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission'))
    )
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_submitted_at'), ['submitted_at'], unique=False)

    op.create_table('checkin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('checked_in_at', models.base.AwareDateTime(timezone=True), nullable=False),
    sa.Column('late_entry', sa.Boolean(), nullable=False),
    sa.Column('source_message_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['activity_id'], ['activity.id'], name=op.f('fk_checkin_activity_id_activity')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_checkin_member_id_member')),
    sa.ForeignKeyConstraint(['source_message_id'], ['inbound_message.id'], name=op.f('fk_checkin_source_message_id_inbound_message')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin')),
    sa.UniqueConstraint('activity_id', 'member_id', name=op.f('uq_checkin_activity_id_member_id'))
    )
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkin_member_id'), ['member_id'], unique=False)

    op.create_table('leave_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('requested_at', models.base.AwareDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', models.base.AwareDateTime(timezone=True), nullable=True),
    sa.Column('source_message_id', sa.Integer(), nullable=True),
    sa.Column('decision_message_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['activity_id'], ['activity.id'], name=op.f('fk_leave_request_activity_id_activity')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['member.id'], name=op.f('fk_leave_request_decided_by_id_member')),
    sa.ForeignKeyConstraint(['decision_message_id'], ['inbound_message.id'], name=op.f('fk_leave_request_decision_message_id_inbound_message')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_leave_request_member_id_member')),
    sa.ForeignKeyConstraint(['source_message_id'], ['inbound_message.id'], name=op.f('fk_leave_request_source_message_id_inbound_message')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leave_request'))
    )
    with op.batch_alter_table('leave_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_leave_request_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_leave_request_member_id'), ['member_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('leave_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_leave_request_member_id'))
        batch_op.drop_index(batch_op.f('ix_leave_request_activity_id'))

    op.drop_table('leave_request')
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_member_id'))
        batch_op.drop_index(batch_op.f('ix_checkin_activity_id'))

    op.drop_table('checkin')
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_submitted_at'))
        batch_op.drop_index(batch_op.f('ix_submission_member_id'))
        batch_op.drop_index(batch_op.f('ix_submission_kind'))
        batch_op.drop_index(batch_op.f('ix_submission_group_id'))

    op.drop_table('submission')
    op.drop_table('record_change')
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_group_id'))
        batch_op.drop_index(batch_op.f('ix_activity_date'))

    op.drop_table('activity')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_message_status'))
        batch_op.drop_index(batch_op.f('ix_outbox_message_next_attempt_at'))

    op.drop_table('outbox_message')
    op.drop_table('inbound_message')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_name'))

    op.drop_table('member')
    op.drop_table('chat_binding')
    op.drop_table('liaison_group')

