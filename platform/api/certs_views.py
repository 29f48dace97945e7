"""/api/apps/{app}/certs: the app's HTTPS certificate, its own or ACME's (+ /auto)."""

from rest_framework import status
from rest_framework.response import Response

from api.models import Certificate
from api.pem import covers
from api.services import certs
from api.views import AppScopedView, _body


def certificate_status(app) -> dict:
    """The certificate and, for each of the app's hosts, whether HTTPS is ready for it."""
    cert = Certificate.objects.filter(app=app).first()
    hosts = certs.app_hosts(app=app)
    if cert is None:
        return {"acm": False, "source": None, "state": None, "issuer": "", "not_after": None,
                "last_error": "", "domains": [{"hostname": h, "status": "none"} for h in hosts]}
    return {
        "acm": cert.source == Certificate.Source.ACME,
        "source": cert.source,
        "state": cert.state,
        "issuer": cert.issuer,
        "not_after": cert.not_after.isoformat() if cert.not_after else None,
        "last_error": cert.last_error,
        "domains": [{"hostname": h, "status": _host_status(cert, h)} for h in hosts],
    }


def _host_status(cert: Certificate, host: str) -> str:
    if cert.state == Certificate.State.FAILING:
        return "failing"
    if covers(cert.domains, host) and cert.chain_pem:
        return "issued"
    return "pending" if cert.source == Certificate.Source.ACME else "not covered"


class CertificateView(AppScopedView):
    def get(self, request, app):
        return Response(certificate_status(self.app()))

    def post(self, request, app):
        body = _body(request)
        found = self.app()
        certs.certificate_add(app=found, chain_pem=body.get("certificate") or "",
                              key_pem=body.get("key") or "")
        return Response(certificate_status(found), status=201)

    def delete(self, request, app):
        certs.certificate_remove(app=self.app())
        return Response(status=status.HTTP_204_NO_CONTENT)


class AcmView(AppScopedView):
    def post(self, request, app):
        found = self.app()
        certs.acm_enable(app=found)
        return Response(certificate_status(found), status=201)

    def delete(self, request, app):
        certs.acm_disable(app=self.app())
        return Response(status=status.HTTP_204_NO_CONTENT)
