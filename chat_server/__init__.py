"""chat_server: a self-hostable, Telegram-like messenger backend."""
