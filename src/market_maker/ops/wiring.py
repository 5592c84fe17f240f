"""A live bot's operations, wired from its configuration: command channel and published view."""

from dataclasses import dataclass

import sqlalchemy as sa

from market_maker.config.app import AppConfig
from market_maker.ops.commands import CommandQueue
from market_maker.ops.heartbeat import BotRun
from market_maker.ops.publish import Publisher


@dataclass
class BotOperations:
    """What ``run_live`` needs to take operator commands and publish the bot's view.

    Attributes:
        database: The bot's database (``durable.database_url``).
        commands: The bot's command channel.
        publisher: Builds and publishes its view (``publisher.latest`` for the HTTP server).
    """

    database: sa.Engine
    commands: CommandQueue
    publisher: Publisher

    @classmethod
    def for_config(cls, config: AppConfig) -> "BotOperations":
        """The operations of ``config``'s bot, on its durable database."""
        from market_maker.durable.database import create_engine

        database = create_engine(config.durable.database_url, connect=False)
        return cls(
            database,
            CommandQueue(database, config.bot_id, config.symbol),
            Publisher(BotRun(database, config.bot_id, config.symbol)),
        )

    def close(self) -> None:
        """Release the database connections."""
        self.database.dispose()


__all__ = ["BotOperations"]
