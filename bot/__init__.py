"""The bot's core: message types, config, parser, dates, periods, quotas, pipeline, reminders, outbox."""
