"""The Alembic migrations build exactly the schema the models describe, and downgrade cleanly."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.runtime import schema_is_current
from models import Base


def test_migrated_schema_matches_the_models(engine):
    assert schema_is_current(engine)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    # Index/constraint naming differences would show here too: the list must be empty.
    assert diff == []


def test_every_table_of_the_models_exists_after_upgrade(engine):
    from sqlalchemy import inspect

    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_downgrade_to_nothing_and_up_again(tmp_path):
    from alembic import command
    from sqlalchemy import inspect

    from bot.runtime import _alembic_config
    from models import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    cfg = _alembic_config(engine)
    command.upgrade(cfg, "head")
    command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(cfg, "head")
    assert schema_is_current(engine)
    engine.dispose()


def test_the_heads_read_from_the_migration_files_are_alembics_heads(engine):
    from bot.runtime import _alembic_config, _heads, migration_heads

    assert migration_heads() == _heads(_alembic_config(engine)) != set()


def test_a_database_behind_the_newest_migration_is_not_current(tmp_path):
    from sqlalchemy import text

    from bot.runtime import schema_is_current, upgrade_schema
    from models import make_engine

    eng = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    assert not schema_is_current(eng)  # no schema at all
    upgrade_schema(eng)
    assert schema_is_current(eng)
    with eng.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0009'"))
    assert not schema_is_current(eng)
    eng.dispose()
