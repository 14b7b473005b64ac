"""What tests share, one of each: api (register, chats, sends over REST), servers (launch the
server), sockets (recording Socket.IO clients), db (read rows back), tools (skip or fail
when a program is missing), tcp_relay (network faults on cue), fixtures (pytest fixtures)."""
