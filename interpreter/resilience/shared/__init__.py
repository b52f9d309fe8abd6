"""One rate-limit budget shared by every session that uses it: the ledger, and the stores that keep it.

ledger   the shared state as a value (buckets, the queue of waiting sessions, reservations in flight) and its rules
setting  the store setting ("sqlite", "off", "redis://host:port/db"), light: the settings read it at every start
store    the Store protocol, the store a setting opens and the key a budget is filed under
sqlite   the default store: one SQLite file under the home, short BEGIN IMMEDIATE transactions (one machine)
redis    the Redis store: the same rules as one atomic Lua script (several machines); imports redis-py
budget   SharedLimiter: the limiter a session uses over a store, falling back to limiting itself alone
"""
