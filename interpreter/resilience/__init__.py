"""Calm behaviour against a rate-limited or failing API: pure pieces with the clock, sleep and randomness injected.

durations   Go-style durations in, short waits out ("3.708s" -> 3.708 -> "3.7s")
bodies      error bodies of every server's shape, read once: its own words, code, type, quota and wait details
hints       how long the server asks us to wait, in its order of trust
classify    the one table: retried or final, what the breaker hears, what the person is told
breaker     the circuit breaker (closed, open, half-open) on a monotonic clock
limiter     token estimates and the request/token buckets learned from rate-limit headers
policy      the retry policy: pure decisions and the tenacity Retrying built from them
model       ResilientModel: the ChatModel that runs all of the above around the real one
shared/     one rate-limit budget for many sessions: its rules, its stores (SQLite, Redis), the session's limiter
fallback    FallbackModel: a chain of ResilientModels; another model while the one asked for is busy, and back
diagnostics the diagnostics log: what went wrong and what the server sent, secrets redacted, under the home

May import `errors`, `messages`, `trust`, `settings.directories`, `ui.words`, and of `model` what the wrappers need
(`llm`'s ChatModel protocol, `context`'s Named, `vision`'s cost of an image); never the session, the screen or the
command line.
"""
