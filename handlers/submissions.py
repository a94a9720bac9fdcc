"""(being written)"""

from bot.router import Router

router = Router()
