"""Thin adapters over AWS services (SQS, S3, SSM). Each takes an injected boto3 client.

botocore errors are translated into :mod:`clio_xero.errors` here and nowhere else.
"""
