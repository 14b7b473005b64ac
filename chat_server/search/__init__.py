"""Message search: words and word prefixes in any script, in the caller's chats."""
