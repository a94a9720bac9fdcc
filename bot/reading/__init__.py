"""The readers behind `bot.parser.RULES`: one module per family of intents, and `text`, which makes a
message ready for them. Only `bot.parser` imports this package."""
