"""`Authorization: Bearer <token>` for tools (browsers use the session, with CSRF)."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from .services import TokenError, token_check


class TokenAuthentication(authentication.BaseAuthentication):
    """Sets `request.user` to the token's user and `request.auth` to the ApiToken."""

    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the token as 'Authorization: Bearer <token>', with no spaces in the token."
            )
        try:
            token = token_check(raw=header[1].decode())
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        except TokenError as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
