"""Who is online: the store of open connections (store.py in memory, redis_store.py in
Redis for several processes) and the service that turns connects, disconnects, crashed
processes and new chat-mates into presence events (service.py)."""
