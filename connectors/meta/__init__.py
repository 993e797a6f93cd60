"""WhatsApp Cloud API, from Meta directly or through 360dialog: everything carelay knows of it.

connector (HTTP client), payloads (message bodies), statuses and errors (Graph spellings and codes),
signature (X-Hub-Signature-256), webhooks (the gateway's routes and handshake), parse (webhook items
into canonical records), capabilities and instances (demo sender).
"""
