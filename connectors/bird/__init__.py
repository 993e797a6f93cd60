"""Bird (formerly MessageBird) Channels API, SMS and WhatsApp: everything carelay knows of it.

connector (HTTP client), payloads (message bodies), statuses and errors (Bird's spellings and codes),
signature (`messagebird-signature`), webhooks (the gateway's route), parse (webhook events into
canonical records), capabilities.
"""
