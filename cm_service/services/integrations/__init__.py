"""Integrations: FHIR, lab result import, and the outbox with its delivery backends
(every side effect after a commit: messages now, webhooks next)."""
