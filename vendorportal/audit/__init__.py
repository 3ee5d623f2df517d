"""The audit trail: who did what, acting for which vendor, from where, and when.

Append-only. Every service write leaves exactly one `AuditEntry` in its own transaction:
services that record an event get theirs from `events.log.record_event` (the event's
kind is the action); the few that record no event call `audit.log.record` themselves.
Security events (logins, failures, lockouts, MFA, tokens, exports) go through
`audit.log.record_security`.
"""
