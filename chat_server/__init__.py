"""chat_server: a self-hostable, Telegram-like messenger backend."""

__version__ = "0.1.0"
