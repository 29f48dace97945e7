"""The registry's token endpoint, and releases of images pushed to it."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET
from rest_framework.response import Response

from api.authentication import header_user
from api.errors import PierError
from api.exceptions import error_response
from api.serializers import ReleaseSerializer
from api.views import AppScopedView, _body
from registry.keys import TOKEN_TTL_SECONDS
from registry.releases import container_release
from registry.services import registry_token_grant


@require_GET
def registry_token(request):
    """GET /api/registry/token (Docker's token auth spec).

    `docker login HOST -u anything -p $API_TOKEN` arrives here as Basic auth, the API
    token as the password, the way git pushes authenticate.
    """
    try:
        user, _ = header_user(request.headers.get("Authorization", ""), scheme="basic")
        token = registry_token_grant(user=user, service=request.GET.get("service", ""),
                                     scopes=request.GET.getlist("scope"))
    except PierError as e:
        return error_response(e)
    # `token` is the spec's field; `access_token` is its OAuth2 name, which clients also read.
    return JsonResponse({"token": token, "access_token": token,
                         "expires_in": TOKEN_TTL_SECONDS})


class ContainerReleaseView(AppScopedView):
    """POST /api/apps/{app}/container-releases {"image", "process_types"}: a release of an
    image from Pier's registry (`pier container:release`)."""

    def post(self, request, app):
        body = _body(request)
        release = container_release(app=self.app(), user=request.user,
                                    image=str(body.get("image") or ""),
                                    process_types=body.get("process_types"))
        return Response(ReleaseSerializer(release).data, status=201)
