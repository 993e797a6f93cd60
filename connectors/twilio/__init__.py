"""Twilio (SMS, WhatsApp, voice): everything carelay knows of Twilio, and nothing of it outside.

connector (the SDK client), transport (its HTTP pool), requests (message and TwiML building),
statuses and errors (Twilio's spellings and codes), signature (X-Twilio-Signature), webhooks (the
gateway's routes), parse (callbacks into canonical records), capabilities and instances (demo senders).
"""
