"""Who may do what: API tokens with roles, shared by the console and the endpoints' gateway."""

from raymaker.access.tokens import ROLES, Principal, Tokens, check_roles, local_user

__all__ = ["ROLES", "Principal", "Tokens", "check_roles", "local_user"]
