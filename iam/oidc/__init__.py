"""The IAM as an OpenID Connect provider (allauth's ``idp.oidc``) for the company's online services.

Applications are the clients; the ID token and userinfo carry the account the user acts for
and their effective application roles for that application (``iam.roles``).
"""
