"""clio-xero: a self-hosted Clio Manage <-> Xero sync for AWS Lambda.

Importing this package (or any module in it) only defines things: no environment is read and no
client is built until a function asks for one.
"""

__version__ = "0.1.0"
