"""Timely findings and alerts.

- `settings`: the `alerts:` config as typed sinks; secrets resolved at delivery time.
- `document`: the alert for one finding and sink, and its idempotency key.
- `ocsf`: the OCSF Detection Finding (class 2004) an alert maps to.
- `sinks/`: one module per kind of receiver (webhook, syslog, splunk_hec, ocsf_file).
- `outbox`: alerts kept in the store until their sink took them; retries with backoff.
- `scheduler`: in `aiaudit watch`, evaluates the open windows every `evaluate_minutes` and
  fills the outbox; `dispatcher` delivers it.
"""
