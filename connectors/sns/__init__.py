"""Amazon SNS SMS (Publish to a phone number): everything carelay knows of it.

connector (boto3's SNS client), errors (botocore error codes), statuses (the SMS delivery log's
spellings), signature (SNS message signatures, SignatureVersion 2), webhooks (the gateway's route
for delivery reports), parse (delivery reports into canonical records), capabilities.
"""
