"""/api/apps/{app}/certs: the app's HTTPS certificate, its own or ACME's (+ /auto), and its
HTTP to HTTPS redirect (/redirect)."""

from rest_framework import status
from rest_framework.response import Response

from api.services import certs
from api.views import AppScopedView, _body


class CertificateView(AppScopedView):
    def get(self, request, app):
        return Response(certs.certificate_status(app=self.app()))

    def post(self, request, app):
        body = _body(request)
        found = self.app()
        certs.certificate_add(app=found, chain_pem=body.get("certificate") or "",
                              key_pem=body.get("key") or "")
        return Response(certs.certificate_status(app=found), status=201)

    def delete(self, request, app):
        certs.certificate_remove(app=self.app())
        return Response(status=status.HTTP_204_NO_CONTENT)


class AcmView(AppScopedView):
    def post(self, request, app):
        found = self.app()
        certs.acm_enable(app=found)
        return Response(certs.certificate_status(app=found), status=201)

    def delete(self, request, app):
        certs.acm_disable(app=self.app())
        return Response(status=status.HTTP_204_NO_CONTENT)


class RedirectView(AppScopedView):
    def post(self, request, app):
        found = certs.https_redirect_set(app=self.app(), enabled=True)
        return Response(certs.certificate_status(app=found))

    def delete(self, request, app):
        found = certs.https_redirect_set(app=self.app(), enabled=False)
        return Response(certs.certificate_status(app=found))
